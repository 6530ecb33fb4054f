"""The drift step: Evidently report, decision, figures exported for people and Prometheus."""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.types import HTMLString

from churn.monitoring.config import MonitoringConfig, parse_config
from churn.monitoring.decision import DriftDecision, decide, too_few_rows
from churn.monitoring.export import append_history, report_path, write_metrics
from churn.settings import get_settings
from steps.monitoring.load import PREDICTION


def reports_dir(cfg: MonitoringConfig) -> Path:
    return cfg.reports_dir or get_settings().reports_dir


def evaluate(
    cfg: MonitoringConfig,
    reference: pd.DataFrame,
    window: pd.DataFrame,
    production_version_name: str | None = None,
) -> tuple[DriftDecision, str]:
    """Decide, write the report, the metrics textfile and the history line; return the HTML."""
    from steps.monitoring.evidently_report import analyse

    now = datetime.now(UTC)
    if len(window) < cfg.min_rows:
        decision = too_few_rows(len(window), cfg.min_rows)
        page = f"<html><body><p>{html.escape(decision.reasons[0])}</p></body></html>"
    else:
        with_pred = cfg.check_prediction_drift and PREDICTION in reference.columns
        analysis = analyse(
            cfg,
            reference,
            window,
            reference[PREDICTION] if with_pred else None,
            window[PREDICTION] if with_pred else None,
        )
        decision = decide(
            analysis.columns,
            analysis.prediction,
            cfg.drift_share_threshold,
            len(window),
            share=analysis.drift_share,
        )
        if not with_pred:
            decision.reasons.append("prediction drift not checked (no production model artifact)")
        page = analysis.html
        path = report_path(reports_dir(cfg), now)
        path.write_text(page, encoding="utf-8")
        decision.report_path = str(path)
    decision.timestamp = now.timestamp()
    decision.model_version = production_version_name
    write_metrics(reports_dir(cfg), decision)
    append_history(reports_dir(cfg), decision)
    return decision, page


@step(enable_cache=False)
def detect_drift(
    config: dict[str, Any],
    reference: pd.DataFrame,
    window: pd.DataFrame,
    production_version_name: str,
) -> tuple[Annotated[HTMLString, "drift_report"], Annotated[dict[str, Any], "drift_decision"]]:
    cfg = parse_config(config)
    started = time.perf_counter()
    decision, page = evaluate(cfg, reference, window, production_version_name)
    figures: dict[str, Any] = {
        "drift_detected": decision.drift_detected,
        "drift_share": decision.drift_share,
        "drifted_features": decision.drifted_features,
        "n_rows": decision.n_rows,
        "reasons": decision.reasons,
        "report_path": decision.report_path,
        "production_version": production_version_name,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if decision.prediction_drift is not None:
        figures["prediction_drift_score"] = decision.prediction_drift.score
    log_metadata(metadata=figures)
    run_id = get_step_context().pipeline_run.id
    log_metadata(metadata={"drift": figures}, run_id_name_or_prefix=run_id)
    return HTMLString(page), decision.to_dict()
