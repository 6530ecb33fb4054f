"""The registry facade: every change of the production model, all-or-nothing across ZenML, MLflow,
the BentoML store, the serving state and the audit trail, with its undo list.

The promote step of the training pipeline, `churn model promote|rollback`, `churn experiment`,
the monitoring pipeline's automatic rollback and the tests call it here; the single-store reads
and writes it is made of are in `churn.control.models` and re-exported, so callers need one module.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from churn.control.models import (
    CHAMPION_ALIAS,
    MODEL_ARTIFACT,
    MODEL_CARD_ARTIFACT,
    PROMOTE_STEP,
    PROMOTED_ARTIFACT,
    REFERENCE_ARTIFACT,
    SPLIT_MODEL_ARTIFACT,
    RollbackError,
    bento_tag_of,
    card_of,
    champion_version,
    configure_mlflow,
    delete_from_model_store,
    get_version,
    load_pipeline,
    load_split_pipeline,
    production_version,
    register_mlflow_model,
    restore_champion,
    save_to_model_store,
    set_champion,
)
from churn.db import serving_state
from churn.db.audit import AuditEvent, default_actor
from churn.model_card import ModelCard
from churn.settings import get_settings
from churn.training.promotion import QualityFloor, decide_manual_promotion, rollback_target

__all__ = [
    "CHAMPION_ALIAS",
    "MODEL_ARTIFACT",
    "MODEL_CARD_ARTIFACT",
    "PROMOTED_ARTIFACT",
    "PROMOTE_STEP",
    "REFERENCE_ARTIFACT",
    "SPLIT_MODEL_ARTIFACT",
    "ChangeFailed",
    "ChangeHook",
    "PromotionError",
    "RollbackError",
    "bento_tag_of",
    "card_of",
    "champion_version",
    "configure_mlflow",
    "delete_from_model_store",
    "get_version",
    "load_pipeline",
    "load_split_pipeline",
    "production_version",
    "promote_by_hand",
    "register_mlflow_model",
    "rollback",
    "save_to_model_store",
    "set_production_state",
    "switch_production",
]

logger = logging.getLogger(__name__)


class PromotionError(RuntimeError):
    """A promotion by hand was refused (unknown version, under the floor, already production)."""


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
    first, and re-raises. `bento` is (pipeline, card) to save, or None to leave the BentoML
    store and the serving state as they are (every caller today saves one). Returns the BentoML
    tag saved, if any.
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
    target = get_version(model_name, version_name)
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
