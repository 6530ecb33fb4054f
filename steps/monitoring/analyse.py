"""The drift step: Evidently report, decision, figures exported for people and Prometheus."""

from __future__ import annotations

import time
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.types import HTMLString

from churn.monitoring.config import parse_config
from churn.monitoring.decision import DriftDecision
from steps.monitoring.evaluate import evaluate


@step(enable_cache=False)
def detect_drift(
    config: dict[str, Any],
    reference: pd.DataFrame,
    window: pd.DataFrame,
    production_version_name: str,
    window_rows: int | None = None,
) -> tuple[Annotated[HTMLString, "drift_report"], Annotated[DriftDecision, "drift_decision"]]:
    cfg = parse_config(config)
    started = time.perf_counter()
    decision, page = evaluate(cfg, reference, window, production_version_name, window_rows)
    figures: dict[str, Any] = {
        "drift_detected": decision.drift_detected,
        "drift_share": decision.drift_share,
        "drifted_features": decision.drifted_features,
        "n_rows": decision.n_rows,
        "window_rows": decision.window_rows,
        "sampled": decision.sampled,
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
    return HTMLString(page), decision
