"""Load the churn pipeline and its model card from the BentoML model store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import bentoml
from pydantic import ValidationError

from bentos.scorer import Scorer
from churn.model_card import ModelCard


@dataclass(frozen=True)
class LoadedModel:
    tag: str
    scorer: Scorer
    card: ModelCard


def card_of(model: bentoml.Model) -> ModelCard:
    """The model card from the metadata; a minimal one for models saved without it."""
    try:
        return ModelCard.from_metadata(dict(model.info.metadata))
    except ValidationError:
        labels = model.info.labels
        return ModelCard(
            model_name=model.tag.name,
            model_version=labels.get("zenml_version") or str(model.tag.version),
            model_type=labels.get("model_type", "unknown"),
            threshold=float(labels.get("threshold", 0.5)),
            mlflow_run_id=labels.get("mlflow_run_id") or None,
            trained_at=model.info.creation_time or datetime.now(UTC),
        )


def load(model: bentoml.Model) -> LoadedModel:
    pipeline = bentoml.sklearn.load_model(model)
    return LoadedModel(str(model.tag), Scorer(pipeline), card_of(model))


def load_tag(tag: str) -> LoadedModel:
    """A model of the local BentoML model store by tag (a live switch's new champion/challenger)."""
    return load(bentoml.models.get(tag))
