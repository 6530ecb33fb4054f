"""ZenML Model Control Plane and MLflow registry operations shared by the promote step and the CLI.

ZenML is the source of truth for which version is in production; the MLflow registered model's
alias `champion` and the BentoML store's latest `telco_churn` follow it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from churn.model_card import ModelCard
from churn.settings import get_settings

logger = logging.getLogger(__name__)
CHAMPION_ALIAS = "champion"
MODEL_ARTIFACT = "churn_model"  # the served model (refit on every labelled row)
SPLIT_MODEL_ARTIFACT = "split_model"  # fitted on the training split only: for paired comparisons


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


def save_to_model_store(pipeline: Any, card: ModelCard) -> str:
    """Save the production pipeline to the BentoML model store; return the tag."""
    import bentoml

    labels = {**card.labels(), "stage": "production"}
    saved = bentoml.sklearn.save_model(
        card.model_name, pipeline, labels=labels, metadata=card.to_metadata()
    )
    return str(saved.tag)


def rollback(model_name: str | None = None) -> dict[str, Any]:
    """Put the previous production version back in ZenML, MLflow (alias) and the BentoML store."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    model_name = model_name or get_settings().model_name
    current: Any = production_version(model_name)
    if current is None:
        raise RollbackError(f"model {model_name!r} has no production version to roll back from")
    previous_name = current.run_metadata.get("previous_production_version")
    if not previous_name:
        raise RollbackError(
            f"production version {current.name} of {model_name!r} has no previous production "
            "version to roll back to"
        )
    previous: Any = Client().get_model_version(model_name, str(previous_name))
    previous.set_stage(ModelStages.PRODUCTION, force=True)  # force archives the current one
    configure_mlflow()
    mlflow_version = previous.run_metadata.get("mlflow_model_version")
    if mlflow_version:
        set_champion(model_name, str(mlflow_version))
    card = card_of(previous)
    tag = save_to_model_store(load_pipeline(previous), card)
    when = dt.datetime.now(dt.UTC).isoformat()
    from zenml import log_metadata

    log_metadata(
        metadata={"rolled_back_from": current.name, "rolled_back_at": when},
        model_name=model_name,
        model_version=previous.name,
    )
    log_metadata(
        metadata={"rolled_back_to": previous.name, "rolled_back_at": when},
        model_name=model_name,
        model_version=current.name,
    )
    logger.info("rolled back %s: %s -> %s", model_name, current.name, previous.name)
    return {
        "model": model_name,
        "from_version": current.name,
        "to_version": previous.name,
        "mlflow_champion": mlflow_version,
        "bento_model": tag,
    }
