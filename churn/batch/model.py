"""The model offline scoring uses: the production model of the BentoML model store, as the
service picks it (the serving state's production tag, else the store's newest `telco_churn`).

BentoML is imported here only, inside `load_production` (an import-linter exception in
pyproject.toml): the rest of churn/batch/ gets a plain scikit-learn pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn.schema import FEATURE_NAMES


class ModelNotFound(LookupError):
    """No production model, or no model with the tag asked for."""


@dataclass(frozen=True)
class ScoringModel:
    tag: str
    version: str
    threshold: float
    pipeline: Any

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probabilities of typed rows (`churn.batch.rows`): the pipeline's own numbers."""
        return np.asarray(self.pipeline.predict_proba(frame[list(FEATURE_NAMES)])[:, 1])

    def describe(self) -> str:
        return f"{self.tag} (version {self.version}, threshold {self.threshold:.2f})"


def production_tag(model_name: str) -> str | None:
    from churn.db import serving_state

    state = serving_state.read(model_name)
    return state.production_tag if state is not None else None


def load_production(tag: str | None = None) -> ScoringModel:
    import bentoml
    from bentoml.exceptions import NotFound

    from churn.model_card import ModelCard
    from churn.settings import get_settings

    name = get_settings().model_name
    wanted = tag or production_tag(name) or f"{name}:latest"
    try:
        model = bentoml.models.get(wanted)
    except NotFound:
        if tag is None:
            raise ModelNotFound("no production model yet: run `make train` first") from None
        raise ModelNotFound(f"--model {tag}: no such model in the BentoML store") from None
    card = ModelCard.from_metadata(dict(model.info.metadata))
    return ScoringModel(
        str(model.tag), card.model_version, card.threshold, bentoml.sklearn.load_model(model)
    )
