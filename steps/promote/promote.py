"""Promote: the floor first, then production only on evidence from this run's test split.

The rule is `churn.training.promotion.decide_promotion`; the comparison is between SPLIT models
(each fitted on its run's training part only), so the refit model's use of the test rows does not
bias it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.enums import ModelStages

from churn.artifacts import Candidates, RefitSummary, TestMetrics
from churn.control.registry import (
    load_split_pipeline,
    production_version,
    register_mlflow_model,
    switch_production,
)
from churn.db.audit import AuditEvent, default_actor
from churn.model_card import CandidateScore, ModelCard
from churn.training.metrics import paired_auc_difference
from churn.training.promotion import EvidenceRule, QualityFloor, decide_promotion
from churn.training.sampling import stratified_sample
from churn.training.search import features_and_target
from steps.train.evaluate import bootstrap_progress

logger = logging.getLogger(__name__)


def _compare(
    model: Pipeline, production: Any, test_rows: pd.DataFrame
) -> tuple[float, dict[str, float]]:
    """Production's ROC-AUC on the test rows (the sample `evaluate` measured), and the paired
    bootstrap of new minus production on them."""
    X, y = features_and_target(test_rows)
    old = load_split_pipeline(production).predict_proba(X)[:, 1]
    new = model.predict_proba(X)[:, 1]
    paired = paired_auc_difference(y, new, old, progress=bootstrap_progress("promote"))
    return float(roc_auc_score(y, old)), paired


def build_card(
    version_name: str,
    candidates: Candidates,
    metrics: TestMetrics,
    threshold: float,
    data_md5: str,
    refit_summary: RefitSummary | None = None,
) -> ModelCard:
    chosen = candidates.chosen
    training: dict[str, Any] = {}
    if refit_summary:
        training = {
            "refit_on_all_rows": refit_summary.refit_on_all_rows,
            "rows": refit_summary.rows,
            "split_model_rows": refit_summary.split_model_rows,
            "rows_by_stage": refit_summary.rows_by_stage,
            "search_sample_rows": refit_summary.search_sample_rows,
            "quality_sample_rows": refit_summary.quality_sample_rows,
            "refit_sample_rows": refit_summary.refit_sample_rows,
            "bootstrap_sample_rows": refit_summary.bootstrap_sample_rows,
            "note": "served model refit on the labelled rows (`rows_by_stage.refit` of them) with "
            "the chosen hyperparameters; `metrics` are the split model's on the held-out test "
            "split (`rows_by_stage.evaluation` of its rows; they measure the procedure)",
        }
    return ModelCard(
        model_version=version_name,
        model_type=chosen.name,
        threshold=threshold,
        mlflow_run_id=chosen.mlflow_run_id,
        trained_at=dt.datetime.now(dt.UTC),
        metrics=metrics.as_floats(),
        candidates=[
            CandidateScore.model_validate(c.model_dump(include=set(CandidateScore.model_fields)))
            for c in candidates.candidates
        ],
        data_md5=data_md5,
        training=training,
    )


@step(experiment_tracker=True, enable_cache=False)
def promote(
    model: Pipeline,
    served_model: Pipeline,
    test_data: pd.DataFrame,
    test_metrics: TestMetrics,
    candidates: Candidates,
    threshold: float,
    data_md5: str,
    refit_summary: RefitSummary,
    promotion: EvidenceRule,
    quality_floor: QualityFloor,
    bootstrap_sample_rows: int | None = None,
    seed: int = 42,
) -> tuple[
    Annotated[bool, "promoted"],
    Annotated[ModelCard, "model_card"],
    Annotated[str, "bento_model"],
]:
    """`model` is the split model (the comparison); `served_model` the refit one, saved to the
    BentoML store inside the same all-or-nothing change as the ZenML stage, the MLflow alias, the
    version's metadata, the serving state and the audit row. `bento_model` is its tag ("" when
    not promoted)."""
    import mlflow

    context_model = get_step_context().model
    model_name = context_model.name
    version_name = str(context_model.version)
    card = build_card(version_name, candidates, test_metrics, threshold, data_md5, refit_summary)

    production = production_version(model_name)
    new_score = test_metrics.roc_auc
    test_rows = stratified_sample(test_data, bootstrap_sample_rows, seed)
    if production is not None:
        logger.info(
            "paired bootstrap against production %s on %d test rows (the rows evaluate read)",
            production.name,
            len(test_rows),
        )
    production_score, paired = (
        (None, None) if production is None else _compare(model, production, test_rows)
    )
    outcome = decide_promotion(
        test_metrics.as_floats(),
        paired,
        quality_floor,
        promotion,
        production.name if production is not None else None,
    )
    promoted = outcome.promoted
    reason = outcome.reason
    if paired is not None:
        reason += (
            f" (production ROC-AUC {production_score:.4f}, new {new_score:.4f}; 95% paired "
            f"bootstrap of the difference: {paired['difference_ci_low']:+.4f} to "
            f"{paired['difference_ci_high']:+.4f})"
        )

    mlflow_version = register_mlflow_model(
        refit_summary.model_uri or candidates.chosen.model_uri,
        model_name,
        version_name,
    )
    decision: dict[str, Any] = {
        "promoted": promoted,
        "stage": "production" if promoted else "staging",
        "reason": reason,
        "rule": outcome.checks,
        "new_roc_auc": new_score,
        "production_roc_auc": production_score,
        "production_version": production.name if production else None,
    }
    if paired is not None:
        decision["paired_bootstrap"] = paired
    metadata: dict[str, Any] = {
        "promotion": decision,
        "test_metrics": card.metrics,
        "threshold": threshold,
        "model_type": card.model_type,
        "cv_roc_auc": {c.name: c.cv_roc_auc for c in card.candidates},
        "mlflow_model_version": mlflow_version,
        "mlflow_run_id": card.mlflow_run_id or "",
        "model_card": card.to_metadata(),
        "refit": refit_summary.model_dump(mode="json", exclude={"model_uri"}),
        "candidates_calibration": {
            c.name: {"cv_brier": c.cv_brier, "oof_brier": c.oof_brier, "reliability": c.reliability}
            for c in candidates.candidates
        },
        "data_md5": data_md5,
    }
    if promoted and production is not None:
        metadata["previous_production_version"] = production.name

    def record() -> None:
        log_metadata(metadata=metadata, model_name=model_name, model_version=version_name)

    bento_model = ""
    if promoted:
        # ZenML stage, MLflow alias, BentoML model, the version's metadata (a rollback reads
        # `previous_production_version`), serving state and audit row: all of them or none.
        bento_model = (
            switch_production(
                model_name,
                context_model,
                production,
                AuditEvent(
                    action="promote",
                    source="pipeline",
                    actor=default_actor(),
                    model_name=model_name,
                    from_version=production.name if production is not None else None,
                    to_version=version_name,
                    reason=reason,
                ),
                mlflow_version=mlflow_version,
                bento=(served_model, card),
                metadata=record,
            )
            or ""
        )
        logger.info("saved %s to the BentoML model store", bento_model)
        log_metadata(
            metadata={"bento_model_tag": bento_model},
            model_name=model_name,
            model_version=version_name,
        )
    else:
        context_model.set_stage(ModelStages.STAGING, force=True)
        record()
    log_metadata(metadata={"promotion": decision, "bootstrap_rows": len(test_rows)})
    mlflow.set_tags({"promotion": decision["stage"], "zenml_model_version": version_name})
    mlflow.set_tag("promotion_reason", reason[:5000])
    logger.info("promotion decision for %s version %s: %s", model_name, version_name, reason)
    return promoted, card, bento_model
