"""Where a run's figures go: a JSON-lines history and a timestamped report (the Prometheus gauges:
`steps/monitoring/prometheus.py`, outside the framework-free core)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from churn.monitoring.decision import DriftDecision

DRIFT_SUBDIR = "drift"
HISTORY_FILE = "history.jsonl"


def drift_dir(reports_dir: Path) -> Path:
    path = reports_dir / DRIFT_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def report_path(reports_dir: Path, when: datetime) -> Path:
    """reports/drift/drift_report_20260101T120000Z.html (microseconds keep names unique)."""
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%S_%fZ")
    return drift_dir(reports_dir) / f"drift_report_{stamp}.html"


def history_record(decision: DriftDecision) -> dict[str, Any]:
    return {
        "timestamp": datetime.fromtimestamp(decision.timestamp, UTC).isoformat(),
        "drift_detected": decision.drift_detected,
        "drift_share": decision.drift_share,
        "drift_share_threshold": decision.share_threshold,
        "drifted_features": decision.drifted_features,
        "n_rows": decision.n_rows,
        "report_path": decision.report_path,
    }


def append_history(reports_dir: Path, decision: DriftDecision) -> Path:
    """One JSON object per line; the Streamlit dashboard reads this file."""
    path = drift_dir(reports_dir) / HISTORY_FILE
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(history_record(decision)) + "\n")
    return path


def read_history(reports_dir: Path) -> list[dict[str, Any]]:
    path = reports_dir / DRIFT_SUBDIR / HISTORY_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
