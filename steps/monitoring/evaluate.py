"""One monitoring evaluation, without ZenML: decide, write the report, the metrics and history."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from churn.monitoring.config import MonitoringConfig
from churn.monitoring.decision import DriftDecision, decide, too_few_rows
from churn.monitoring.export import append_history, report_path
from churn.monitoring.stattests import PREDICTION_COLUMN as PREDICTION
from churn.settings import get_settings
from steps.monitoring.prometheus import drift_registry, push_configured, write_metrics

logger = logging.getLogger(__name__)


def reports_dir(cfg: MonitoringConfig) -> Path:
    return cfg.reports_dir or get_settings().reports_dir


def sample_note(page: str, compared: int, window_rows: int, seed: int) -> str:
    """The report, opening with a line that says the window was sampled and how."""
    note = (
        f'<p id="window-sample">Live window: {window_rows:,} logged rows; compared through a '
        f"seeded uniform sample of {compared:,} rows (live_sample_rows, seed {seed}).</p>"
    )
    head, body, rest = page.partition("<body>")
    return f"{head}{body}{note}{rest}" if body else note + page


def evaluate(
    cfg: MonitoringConfig,
    reference: pd.DataFrame,
    window: pd.DataFrame,
    production_version_name: str | None = None,
    window_rows: int | None = None,
) -> tuple[DriftDecision, str]:
    """Decide, write the report, the metrics textfile and the history line; return the HTML.

    `window_rows`: the rows in the live window when `window` is a sample of them (recorded in the
    decision, its JSON line and at the top of the report)."""
    from steps.monitoring.evidently_report import analyse  # Evidently only when there is data

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
            unchecked = "prediction drift not checked (no production model artifact)"
            decision = decision.replaced(reasons=[*decision.reasons, unchecked])
        page = analysis.html
        if window_rows is not None and window_rows > len(window):
            page = sample_note(page, len(window), window_rows, cfg.seed)
        path = report_path(reports_dir(cfg), now)
        path.write_text(page, encoding="utf-8")
        decision = decision.replaced(report_path=str(path))
    decision = decision.replaced(
        timestamp=now.timestamp(),
        model_version=production_version_name,
        window_rows=len(window) if window_rows is None else window_rows,
        sampled=window_rows is not None and window_rows > len(window),
    )
    write_metrics(reports_dir(cfg), decision)
    append_history(reports_dir(cfg), decision)
    push_configured("drift metrics", drift_registry(decision))
    return decision, page
