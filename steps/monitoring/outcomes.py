"""Realized metrics and the automatic rollback: two thin steps around churn/monitoring/realized.py
and churn/monitoring/rollback.py (the rules), plus `realized_report`, which reads the stores
without ZenML so it is tested directly."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Annotated, Any

from zenml import get_step_context, log_metadata, step

from churn.artifacts import (
    RealizedArm,
    RealizedReport,
    RetrainResult,
    RollbackDecision,
    RollbackResult,
)
from churn.monitoring.config import MonitoringConfig, parse_config
from churn.monitoring.export import drift_dir
from churn.monitoring.realized import (
    exclude_treated,
    join_outcomes,
    read_predictions,
    realized_metrics,
)
from churn.monitoring.rollback import RollbackRule, decide_rollback
from churn.schema import ID_COLUMN
from churn.settings import get_settings
from steps.monitoring.campaign_gauges import export_campaign_gauges
from steps.monitoring.evaluate import reports_dir
from steps.monitoring.prometheus import (
    push_configured,
    realized_registry,
    write_realized_metrics,
)

logger = logging.getLogger(__name__)
MONITORING_ACTOR = "monitoring"


def rule_of(cfg: MonitoringConfig) -> RollbackRule:
    return RollbackRule(
        min_outcomes=cfg.min_outcomes,
        min_realized_roc_auc=cfg.min_realized_roc_auc,
        confidence=cfg.confidence,
        bootstrap_samples=cfg.bootstrap_samples,
        seed=cfg.seed,
    )


def realized_report(
    cfg: MonitoringConfig,
    production_version: str | None,
    previous_version: str | None,
    now: dt.datetime | None = None,
) -> RealizedReport:
    """Outcomes of the window joined to predictions: metrics per (version, arm) and the
    rollback decision (production vs previous production, arms pooled)."""
    from churn.db.campaigns import treated_customers
    from churn.db.engine import make_engine
    from churn.db.outcomes import read

    now = now or dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=cfg.realized_window_days)
    lookback = dt.timedelta(days=cfg.outcome_lookback_days)
    url = cfg.prediction_db or get_settings().prediction_db
    engine = make_engine(url)  # read only: no migration here
    try:
        # outcomes of customers an open campaign treated are the offer's, not the model's
        outcomes, excluded = exclude_treated(read(engine, since, now), treated_customers(engine))
    finally:
        engine.dispose()
    if excluded:
        logger.info(
            "realized metrics leave out %d outcome(s) of campaign-treated customers", excluded
        )
    predictions = read_predictions(url, since - lookback, now, customers=outcomes[ID_COLUMN])
    joined = join_outcomes(predictions, outcomes, lookback)
    metrics = realized_metrics(joined, cfg.bootstrap_samples, cfg.confidence, cfg.seed)
    per_version = join_outcomes(predictions, outcomes, lookback, by=("model_version",))
    versions = per_version["model_version"].astype(str)
    decision = decide_rollback(
        production_version,
        previous_version,
        per_version[versions == str(production_version)],
        per_version[versions == str(previous_version)],
        rule_of(cfg),
    )
    return RealizedReport(
        window_days=cfg.realized_window_days,
        since=since.isoformat(),
        n_outcomes=len(outcomes),
        n_joined=len(joined),
        metrics=[RealizedArm.model_validate(m.as_dict()) for m in metrics],
        decision=RollbackDecision.model_validate(decision.as_dict()),
    )


def act_on(cfg: MonitoringConfig, realized: RealizedReport) -> RollbackResult:
    """Roll back when the decision says degraded and `rollback_on_degradation` is on; the
    registry's rollback writes the audit row (actor "monitoring") with the figures as reason."""
    from churn.control.registry import production_version, rollback
    from steps.monitoring.production import model_name

    decision = realized.decision
    if not decision.degraded:
        return RollbackResult(performed=False, reason=decision.reason)
    if not cfg.rollback_on_degradation:
        return RollbackResult(
            performed=False,
            reason=f"degraded, but rollback_on_degradation is off: {decision.reason}",
        )
    name = model_name(cfg)
    current = production_version(name)
    evaluated = decision.production_version
    if current is None or str(current.name) != str(evaluated):
        return RollbackResult(
            performed=False,
            reason=f"production changed during the run ({evaluated} -> "
            f"{current.name if current else None}); not rolling back",
        )
    reason = f"automatic rollback by the monitoring pipeline: {decision.reason}"
    try:
        result = rollback(name, reason=reason, actor=MONITORING_ACTOR, source="pipeline")
    except Exception as exc:  # recorded, not raised: the run's other results still count
        logger.error("automatic rollback failed: %s", exc)
        return RollbackResult(performed=False, reason=reason, error=f"{type(exc).__name__}: {exc}")
    return RollbackResult.model_validate({**result, "performed": True, "reason": reason})


REALIZED_JSON = "realized.json"
"""The latest run's realized figures beside the drift history, for the Streamlit Monitoring page."""


def offline_metrics(cfg: MonitoringConfig, versions: set[str]) -> dict[str, dict[str, Any]]:
    """Each version's test-split metrics as the training run recorded them (`test_metrics`)."""
    from zenml.client import Client

    from steps.monitoring.production import model_name

    out: dict[str, dict[str, Any]] = {}
    for version in sorted(versions):
        try:
            meta = Client().get_model_version(model_name(cfg), version).run_metadata
        except KeyError:
            continue
        metrics = meta.get("test_metrics")
        if isinstance(metrics, dict):
            out[version] = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    return out


def _export(cfg: MonitoringConfig, realized: dict[str, Any]) -> None:
    """`realized` as JSON (`RealizedReport.as_json()`, with the rollback result once known)."""
    folder = reports_dir(cfg)
    write_realized_metrics(folder, realized)
    stamped = {"timestamp": dt.datetime.now(dt.UTC).isoformat(), **realized}
    target = drift_dir(folder) / REALIZED_JSON
    partial = target.with_suffix(".json.tmp")
    partial.write_text(json.dumps(stamped, indent=2, default=str), encoding="utf-8")
    partial.replace(target)  # a reader never sees half a file
    push_configured("realized metrics", realized_registry(realized), {"part": "realized"})


@step(enable_cache=False)
def evaluate_outcomes(
    config: dict[str, Any], production_version_name: str
) -> Annotated[RealizedReport, "realized"]:
    from steps.monitoring.production import production_version

    cfg = parse_config(config)
    version = production_version(cfg)
    previous = version.run_metadata.get("previous_production_version")
    realized = realized_report(cfg, production_version_name, str(previous) if previous else None)
    versions = {m.model_version for m in realized.metrics} | {production_version_name}
    realized = realized.replaced(offline_test_metrics=offline_metrics(cfg, versions))
    _export(cfg, realized.as_json())
    settings = get_settings()
    export_campaign_gauges(
        cfg.prediction_db or settings.prediction_db, reports_dir(cfg),
        settings.pushgateway_url, settings.pushgateway_auth(),
    )  # fmt: skip
    log_metadata(metadata={"realized": realized.as_json()})
    return realized


@step(enable_cache=False)
def auto_rollback(
    config: dict[str, Any], realized: RealizedReport, retrain: RetrainResult
) -> Annotated[RollbackResult, "rollback_result"]:
    """After retraining (whose promotion, if any, wins: production changed, no rollback)."""
    cfg = parse_config(config)
    result = act_on(cfg, realized)
    _export(cfg, {**realized.as_json(), "rollback": result.as_json()})
    run = get_step_context().pipeline_run
    log_metadata(metadata={"rollback": result.as_json()})
    log_metadata(metadata={"auto_rollback": result.as_json()}, run_id_name_or_prefix=run.id)
    return result
