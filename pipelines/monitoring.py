"""The monitoring pipeline: reference vs. live window -> drift report -> decision -> retrain;
outcomes -> realized metrics -> automatic rollback; then, with CHURN_RETENTION_DAYS, the purge of
what is older (retention).

zenml pipeline run pipelines.monitoring.monitoring_pipeline -c configs/monitoring.yaml
churn monitor                      # the same, once, printing the decision as one JSON line
"""

from __future__ import annotations

from typing import Any

from zenml import pipeline

from churn.monitoring.config import parse_config
from churn.settings import get_settings
from pipelines.retrain import retrain_on_drift
from steps.monitoring.analyse import detect_drift
from steps.monitoring.load import load_live_window, load_reference
from steps.monitoring.outcomes import auto_rollback, evaluate_outcomes
from steps.monitoring.retention import purge_expired


@pipeline(enable_cache=False)
def monitoring_pipeline(config: dict[str, Any] | None = None) -> None:
    """`config` is `churn.monitoring.config.MonitoringConfig`, validated before any step runs."""
    config = parse_config(config).model_dump(mode="json", exclude_unset=True) if config else {}
    reference, version = load_reference(config=config)
    window, window_rows = load_live_window(config=config, production_version_name=version)
    _, decision = detect_drift(
        config=config,
        reference=reference,
        window=window,
        production_version_name=version,
        window_rows=window_rows,
    )
    realized = evaluate_outcomes(config=config, production_version_name=version)
    retrain = retrain_on_drift(config=config, decision=decision)
    auto_rollback(config=config, realized=realized, retrain=retrain)
    if days := get_settings().retention_days:  # CHURN_RETENTION_DAYS: purge after the reads
        purge_expired(config=config, older_than_days=days, after="auto_rollback")
