"""A stand-in for the training pipeline: a promoted version with `reference_data`, `churn_model`."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from zenml import Model, pipeline, step
from zenml.client import Client
from zenml.enums import ModelStages

from churn.features import ChurnEncoder
from churn.generator import generate
from churn.schema import FEATURE_NAMES, TARGET


@step(enable_cache=False)
def stub_train(
    rows: int, seed: int
) -> tuple[Annotated[pd.DataFrame, "reference_data"], Annotated[Pipeline, "churn_model"]]:
    data = generate(rows, seed=seed)
    model = Pipeline([("encode", ChurnEncoder()), ("model", LogisticRegression(max_iter=500))])
    model.fit(data[list(FEATURE_NAMES)], data[TARGET])
    return data, model


def register_production_model(name: str, rows: int = 4000, seed: int = 1) -> str:
    """Run the stub pipeline under model `name` and promote the new version; return its name."""

    @pipeline(enable_cache=False, model=Model(name=name))
    def stub_training_pipeline() -> None:
        stub_train(rows=rows, seed=seed)

    stub_training_pipeline()
    version = Client().get_model_version(name, ModelStages.LATEST)
    version.set_stage(ModelStages.PRODUCTION, force=True)
    return str(version.name)
