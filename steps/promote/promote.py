"""Promote: production only if the new version beats production on THIS run's test split."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.enums import ModelStages

from churn.model_card import CandidateScore, ModelCard
from churn.training.metrics import paired_auc_difference
from churn.training.search import features_and_target
from steps.promote.registry import (
    load_pipeline,
    production_version,
    register_mlflow_model,
    set_champion,
)

logger = logging.getLogger(__name__)


def decide(new_score: float, production_score: float | None, min_improvement: float) -> bool:
    """Promote the first version, or one at least `min_improvement` better than production."""
    return production_score is None or new_score >= production_score + min_improvement


def _compare(
    model: Pipeline, production: Any, test_data: pd.DataFrame
) -> tuple[float, dict[str, float]]:
    """Production's ROC-AUC on this test split, and the paired bootstrap of new minus production.

    The bootstrap is recorded, not used by the rule: it says whether a margin is more than luck.
    """
    X, y = features_and_target(test_data)
    old = load_pipeline(production).predict_proba(X)[:, 1]
    new = model.predict_proba(X)[:, 1]
    return float(roc_auc_score(y, old)), paired_auc_difference(y, new, old)


def build_card(
    version_name: str, candidates: dict, metrics: dict, threshold: float, data_md5: str
) -> ModelCard:
    chosen = candidates["chosen"]
    return ModelCard(
        model_version=version_name,
        model_type=chosen["name"],
        threshold=threshold,
        mlflow_run_id=chosen["mlflow_run_id"],
        trained_at=dt.datetime.now(dt.UTC),
        metrics={k: float(v) for k, v in metrics.items()},
        candidates=[
            CandidateScore(
                name=c["name"],
                cv_roc_auc=c["cv_roc_auc"],
                cv_roc_auc_std=c["cv_roc_auc_std"],
                fit_seconds=c["fit_seconds"],
                best_params=c["best_params"],
                mlflow_run_id=c["mlflow_run_id"],
            )
            for c in candidates["candidates"]
        ],
        data_md5=data_md5,
    )


@step(experiment_tracker=True, enable_cache=False)
def promote(
    model: Pipeline,
    test_data: pd.DataFrame,
    test_metrics: dict,
    candidates: dict,
    threshold: float,
    data_md5: str,
    min_improvement: float,
) -> tuple[Annotated[bool, "promoted"], Annotated[dict, "model_card"]]:
    import mlflow

    context_model = get_step_context().model
    model_name = context_model.name
    version_name = str(context_model.version)
    card = build_card(version_name, candidates, test_metrics, threshold, data_md5)

    production = production_version(model_name)
    new_score = float(test_metrics["roc_auc"])
    production_score, paired = (
        (None, None) if production is None else _compare(model, production, test_data)
    )
    promoted = decide(new_score, production_score, min_improvement)

    mlflow_version = register_mlflow_model(
        candidates["chosen"]["model_uri"], model_name, version_name
    )
    if promoted:
        context_model.set_stage(ModelStages.PRODUCTION, force=True)
        set_champion(model_name, mlflow_version)
        reason = (
            "first version: no production model yet"
            if production is None
            else f"beats production {production.name} on this test split: ROC-AUC "
            f"{new_score:.4f} >= {production_score:.4f} + {min_improvement}"
        )
    else:
        context_model.set_stage(ModelStages.STAGING, force=True)
        reason = (
            f"not promoted: ROC-AUC {new_score:.4f} does not beat production "
            f"{production.name if production else '-'} ({production_score:.4f}) by "
            f"min_improvement {min_improvement}"
        )
    decision = {
        "promoted": promoted,
        "stage": "production" if promoted else "staging",
        "reason": reason,
        "new_roc_auc": new_score,
        "production_roc_auc": production_score,
        "production_version": production.name if production else None,
        "min_improvement": min_improvement,
    }
    if paired is not None:
        decision["paired_bootstrap"] = paired
        reason += (
            f" (95% paired bootstrap of the difference: {paired['difference_ci_low']:+.4f} to "
            f"{paired['difference_ci_high']:+.4f}; new better in "
            f"{paired['share_new_better']:.0%} of resamples)"
        )
        decision["reason"] = reason
    metadata: dict[str, Any] = {
        "promotion": decision,
        "test_metrics": card.metrics,
        "threshold": threshold,
        "model_type": card.model_type,
        "cv_roc_auc": {c.name: c.cv_roc_auc for c in card.candidates},
        "mlflow_model_version": mlflow_version,
        "mlflow_run_id": card.mlflow_run_id or "",
        "model_card": card.to_metadata(),
        "data_md5": data_md5,
    }
    if promoted and production is not None:
        metadata["previous_production_version"] = production.name
    log_metadata(metadata=metadata, model_name=model_name, model_version=version_name)
    log_metadata(metadata={"promotion": decision})
    mlflow.set_tags({"promotion": decision["stage"], "zenml_model_version": version_name})
    logger.info("promotion decision for %s version %s: %s", model_name, version_name, reason)
    return promoted, card.to_metadata()
