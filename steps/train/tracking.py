"""Small MLflow helpers shared by the training steps (the stack's tracker configures the URI)."""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.pipeline import Pipeline

from churn.schema import FEATURE_NAMES


def flat_params(params: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in params.items()}


def log_pipeline(pipeline: Pipeline, sample: pd.DataFrame) -> str:
    """Log a fitted pipeline with signature and input example; return its model URI."""
    X = (
        sample[list(FEATURE_NAMES)]
        .head(5)
        .astype(
            {
                c: "float64"
                for c in sample.columns
                if c in FEATURE_NAMES and sample[c].dtype.kind == "i"
            }
        )
    )
    signature = infer_signature(X, pipeline.predict_proba(X)[:, 1])
    info = mlflow.sklearn.log_model(
        pipeline,
        name="model",
        signature=signature,
        input_example=X.head(2),
        pip_requirements=_requirements(),  # skips MLflow's slow requirement inference
        skops_trusted_types=trusted_types(pipeline),
    )
    return str(info.model_uri)


def _requirements() -> list[str]:
    import lightgbm
    import numpy
    import pandas
    import sklearn

    return [
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pandas.__version__}",
        f"numpy=={numpy.__version__}",
        f"lightgbm=={lightgbm.__version__}",
    ]


def trusted_types(pipeline: Pipeline) -> list[str]:
    """The types skops must be told to trust: our own, scikit-learn's and LightGBM's (its booster
    keeps an OrderedDict), nothing else."""
    from skops.io import dumps, get_untrusted_types

    found = get_untrusted_types(data=dumps(pipeline))
    return [
        t
        for t in found
        if t.startswith(("churn.", "sklearn.", "lightgbm.")) or t == "collections.OrderedDict"
    ]
