"""The model stores, one at a time: the ZenML Model Control Plane (which version is in production,
its card and artifacts), the MLflow registry (the `champion` alias) and the BentoML model store.

ZenML is the source of truth for which version is in production; the MLflow registered model's
alias `champion` and the BentoML store's latest `telco_churn` follow it. Changing production
(all of them, or none) is `churn.control.registry`'s job; this module has the single-store
reads and writes it is made of. The frameworks are imported inside the functions.
"""

from __future__ import annotations

import logging
from typing import Any

from churn.batch.model import ScoringModel
from churn.model_card import ModelCard
from churn.settings import get_settings

logger = logging.getLogger(__name__)
CHAMPION_ALIAS = "champion"
MODEL_ARTIFACT = "churn_model"  # the served model (refit on every labelled row)
REFERENCE_ARTIFACT = "reference_data"  # the training split: monitoring's drift reference
SPLIT_MODEL_ARTIFACT = "split_model"  # fitted on the training split only: for paired comparisons
PROMOTE_STEP = "promote"  # the training pipeline's promotion step, and its two outputs:
PROMOTED_ARTIFACT = "promoted"  # bool
MODEL_CARD_ARTIFACT = "model_card"  # churn.model_card.ModelCard


class RollbackError(RuntimeError):
    """There is nothing to roll back to."""


def production_version(model_name: str) -> Any | None:
    """The ZenML production model version, or None (ZenML raises KeyError when there is none)."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    try:
        return Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None


def configure_mlflow() -> None:
    """Point MLflow at the active stack's tracker, else at the settings' tracking URI."""
    import mlflow
    from zenml.client import Client

    tracker = Client().active_stack.experiment_tracker
    if tracker is not None and hasattr(tracker, "configure_mlflow"):
        tracker.configure_mlflow()
    else:
        uri = get_settings().mlflow_tracking_uri
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)


def register_mlflow_model(model_uri: str, model_name: str, zenml_version: str) -> str:
    """Register the logged model (MLflow 3 LoggedModel URI) and return the registry version."""
    import mlflow

    registered = mlflow.register_model(model_uri, model_name, tags={"zenml_version": zenml_version})
    return str(registered.version)


def set_champion(model_name: str, mlflow_version: str) -> None:
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias(model_name, CHAMPION_ALIAS, mlflow_version)


def champion_version(model_name: str) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return str(MlflowClient().get_model_version_by_alias(model_name, CHAMPION_ALIAS).version)
    except MlflowException:
        return None


def card_of(version: Any) -> ModelCard:
    """The model card recorded on a ZenML model version by the promote step."""
    meta = version.run_metadata
    if "model_card" not in meta:
        raise RollbackError(f"model version {version.name} has no model card metadata")
    return ModelCard.from_metadata(dict(meta["model_card"]))


def load_pipeline(version: Any) -> Any:
    """The fitted scikit-learn pipeline stored with a ZenML model version."""
    artifact = version.get_artifact(MODEL_ARTIFACT)
    if artifact is None:
        raise RollbackError(f"model version {version.name} has no {MODEL_ARTIFACT!r} artifact")
    return artifact.load()


def load_split_pipeline(version: Any) -> Any:
    """The version's split model; versions from before the refit have only `churn_model`."""
    artifact = version.get_artifact(SPLIT_MODEL_ARTIFACT)
    return artifact.load() if artifact is not None else load_pipeline(version)


def save_to_model_store(pipeline: Any, card: ModelCard, stage: str = "production") -> str:
    """Save a pipeline to the BentoML model store; return the tag."""
    import bentoml

    labels = {**card.labels(), "stage": stage}
    saved = bentoml.sklearn.save_model(
        card.model_name, pipeline, labels=labels, metadata=card.to_metadata()
    )
    return str(saved.tag)


def bento_tag_of(version: Any) -> tuple[str, bool]:
    """The BentoML store's newest model of a ZenML version, saving it first when the store has
    none (a staging version was never packaged); (tag, saved_now)."""
    import bentoml

    card = card_of(version)
    held = [
        m
        for m in bentoml.models.list(card.model_name)
        if m.info.labels.get("zenml_version") == card.model_version
    ]
    if held:
        newest = max(held, key=lambda m: m.info.creation_time)
        return str(newest.tag), False
    return save_to_model_store(load_pipeline(version), card, stage="challenger"), True


def restore_champion(model_name: str, mlflow_version: str | None) -> None:
    """Point `champion` back at `mlflow_version`, or remove it when there was none."""
    from mlflow import MlflowClient

    if mlflow_version is None:
        MlflowClient().delete_registered_model_alias(model_name, CHAMPION_ALIAS)
    else:
        set_champion(model_name, mlflow_version)


def delete_from_model_store(tag: str) -> None:
    """Remove a model saved by this change, so the store's latest is the one before it again."""
    import bentoml

    bentoml.models.delete(tag)


def get_version(model_name: str, name: str) -> Any | None:
    from zenml.client import Client

    try:
        return Client().get_model_version(model_name, name)
    except KeyError:
        return None


# Offline scoring (churn predict, the Spark engine): the model the service would answer with.


class ModelNotFound(LookupError):
    """No production model, or no model with the tag asked for."""


def production_tag(model_name: str) -> str | None:
    from churn.db import serving_state

    state = serving_state.read(model_name)
    return state.production_tag if state is not None else None


def load_production(tag: str | None = None) -> ScoringModel:
    import bentoml
    from bentoml.exceptions import NotFound

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
