"""ZenML Model Control Plane and MLflow registry operations shared by the promote step and the CLI.

ZenML is the source of truth for which version is in production; the MLflow registered model's
alias `champion` and the BentoML store's latest `telco_churn` follow it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from churn.db import serving_state
from churn.db.audit import AuditEvent, default_actor
from churn.model_card import ModelCard
from churn.settings import get_settings
from churn.training.promotion import QualityFloor, decide_manual_promotion, rollback_target

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


class PromotionError(RuntimeError):
    """A promotion by hand was refused (unknown version, under the floor, already production)."""


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


class ChangeFailed(RuntimeError):
    """A registry, the metadata or the audit failed halfway; every registry was put back."""


ChangeHook = Callable[[str], None]
"""Called after each registry has changed with its name ("zenml", "mlflow", "bentoml",
"serving_state"): tests
raise from it to check that a failure halfway puts every registry back."""


def _stage_of(version: Any) -> str | None:
    stage = version.stage
    return str(getattr(stage, "value", stage)) if stage else None


def _undo_all(undo: list[tuple[str, Callable[[], None]]]) -> None:
    """Run the undo actions newest first; one that fails is logged and the others still run."""
    for name, action in reversed(undo):
        try:
            action()
        except Exception:
            logger.exception("could not put the %s registry back: fix it by hand", name)


def switch_production(
    model_name: str,
    target: Any,
    current: Any | None,
    audit: AuditEvent,
    *,
    mlflow_version: str | None,
    bento: tuple[Any, ModelCard] | None,
    metadata: Callable[[], None] | None = None,
    after_change: ChangeHook | None = None,
) -> str | None:
    """Put `target` in production in ZenML, MLflow (`champion`) and the BentoML store, or in none.

    The audit row and the serving state (what every running service serves: the new tag, and no
    experiment) are written in one transaction that commits last; any failure on the way (a
    registry, the metadata, the audit, the state) undoes the registries already changed, newest
    first, and re-raises. `bento` is (pipeline, card) to save, or None when the caller saves it
    later (the training pipeline's package step, which then writes the serving state). Returns
    the BentoML tag saved, if any.
    """
    from zenml.enums import ModelStages

    hook = after_change or (lambda _name: None)
    undo: list[tuple[str, Callable[[], None]]] = []
    target_stage = _stage_of(target)

    def restore_zenml() -> None:
        if current is not None:
            current.set_stage(ModelStages.PRODUCTION, force=True)  # archives the target
        target.set_stage(target_stage or ModelStages.NONE, force=True)

    step = "audit"
    try:
        with serving_state.transaction(audit) as conn:
            step = "zenml"
            target.set_stage(ModelStages.PRODUCTION, force=True)  # force archives the current one
            undo.append(("zenml", restore_zenml))
            hook("zenml")
            step = "mlflow"
            if mlflow_version:
                configure_mlflow()
                old_champion = champion_version(model_name)
                set_champion(model_name, mlflow_version)
                undo.append(("mlflow", lambda: restore_champion(model_name, old_champion)))
            hook("mlflow")
            step = "bentoml"
            tag = None
            if bento is not None:
                tag = save_to_model_store(*bento)
                undo.append(("bentoml", lambda: delete_from_model_store(str(tag))))
            hook("bentoml")
            step = "metadata"
            if metadata is not None:
                metadata()
            step = "serving_state"  # the last writes: SQLite's lock is held only from here
            if tag is not None:
                # the audit's version: `target` is a ZenML model version, or the pipeline's
                # step-context `Model`, whose `.name` is the model's name
                set_production_state(conn, model_name, tag, str(audit.to_version))
            hook("serving_state")
            step = "audit"  # the insert and the commit, when the block ends
    except Exception as exc:
        _undo_all(undo)
        raise ChangeFailed(
            f"{audit.action} of {model_name} version {audit.to_version} failed at {step} "
            f"({type(exc).__name__}: {exc}); every registry was put back"
        ) from exc
    except BaseException:  # an interrupt: put back, then let it through
        _undo_all(undo)
        raise
    return tag


def set_production_state(conn: Any, model_name: str, tag: str, version: str) -> None:
    """Serve `tag` everywhere from now on; a running experiment ends with the old champion."""
    previous = serving_state.read_with(conn, model_name)
    state = (
        previous.with_production(tag, version)
        if previous is not None
        else serving_state.ServingState(model_name, tag, version)
    )
    serving_state.write_with(conn, state, model_name)


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


def _get_version(model_name: str, name: str) -> Any | None:
    from zenml.client import Client

    try:
        return Client().get_model_version(model_name, name)
    except KeyError:
        return None


def promote_by_hand(
    version_name: str,
    reason: str,
    actor: str,
    floor: QualityFloor,
    model_name: str | None = None,
    after_change: ChangeHook | None = None,
) -> dict[str, Any]:
    """`churn model promote`: the floor (not the evidence rule) decides; all registries or none."""
    from zenml import log_metadata

    model_name = model_name or get_settings().model_name
    target = _get_version(model_name, version_name)
    if target is None:
        raise PromotionError(f"model {model_name!r} has no version {version_name!r}")
    current = production_version(model_name)
    decision = decide_manual_promotion(
        target.name,
        target.run_metadata.get("test_metrics"),
        floor,
        current.name if current is not None else None,
    )
    if not decision.promoted:
        raise PromotionError(f"not promoted: {decision.reason}")
    when = dt.datetime.now(dt.UTC)
    record_ = {
        "promoted_by_hand": True,
        "actor": actor,
        "reason": reason,
        "at": when.isoformat(),
        "rule": decision.checks,
    }

    def metadata() -> None:
        values: dict[str, Any] = {"manual_promotion": record_}
        if current is not None:
            values["previous_production_version"] = current.name
        log_metadata(metadata=values, model_name=model_name, model_version=target.name)

    mlflow_version = target.run_metadata.get("mlflow_model_version")
    tag = switch_production(
        model_name,
        target,
        current,
        AuditEvent(
            action="promote",
            source="cli",
            actor=actor,
            model_name=model_name,
            from_version=current.name if current is not None else None,
            to_version=target.name,
            reason=reason,
            created_at=when,
        ),
        mlflow_version=str(mlflow_version) if mlflow_version else None,
        bento=(load_pipeline(target), card_of(target)),
        metadata=metadata,
        after_change=after_change,
    )
    logger.info("promoted %s version %s by hand (%s)", model_name, target.name, actor)
    return {
        "model": model_name,
        "from_version": current.name if current is not None else None,
        "to_version": target.name,
        "mlflow_champion": mlflow_version,
        "bento_model": tag,
        "actor": actor,
        "reason": reason,
    }


def rollback(
    model_name: str | None = None,
    reason: str = "rollback by hand",
    actor: str | None = None,
    after_change: ChangeHook | None = None,
    source: str = "cli",
) -> dict[str, Any]:
    """Put the previous production version back in ZenML, MLflow (alias) and the BentoML store.

    `source` is what made the change in the audit trail: "cli" by hand, "pipeline" for the
    monitoring pipeline's automatic rollback."""
    from zenml import log_metadata
    from zenml.client import Client

    model_name = model_name or get_settings().model_name
    actor = actor or default_actor()
    current: Any = production_version(model_name)
    try:
        previous_name = rollback_target(
            current.name if current is not None else None,
            current.run_metadata.get("previous_production_version") if current else None,
        )
    except ValueError as exc:
        raise RollbackError(f"model {model_name!r}: {exc}") from exc
    previous: Any = Client().get_model_version(model_name, previous_name)
    mlflow_version = previous.run_metadata.get("mlflow_model_version")
    card = card_of(previous)
    when = dt.datetime.now(dt.UTC)

    def metadata() -> None:
        at = when.isoformat()
        log_metadata(
            metadata={"rolled_back_from": current.name, "rolled_back_at": at},
            model_name=model_name,
            model_version=previous.name,
        )
        log_metadata(
            metadata={"rolled_back_to": previous.name, "rolled_back_at": at},
            model_name=model_name,
            model_version=current.name,
        )

    tag = switch_production(
        model_name,
        previous,
        current,
        AuditEvent(
            action="rollback",
            source=source,
            actor=actor,
            model_name=model_name,
            from_version=current.name,
            to_version=previous.name,
            reason=reason,
            created_at=when,
        ),
        mlflow_version=str(mlflow_version) if mlflow_version else None,
        bento=(load_pipeline(previous), card),
        metadata=metadata,
        after_change=after_change,
    )
    logger.info("rolled back %s: %s -> %s", model_name, current.name, previous.name)
    return {
        "model": model_name,
        "from_version": current.name,
        "to_version": previous.name,
        "mlflow_champion": mlflow_version,
        "bento_model": tag,
        "actor": actor,
        "reason": reason,
    }
