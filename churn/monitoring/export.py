"""Where a run's figures go: a Prometheus textfile, a JSON-lines history, a timestamped report."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from churn.monitoring.decision import DriftDecision

DRIFT_SUBDIR = "drift"
METRICS_FILE = "metrics.prom"
HISTORY_FILE = "history.jsonl"


def drift_dir(reports_dir: Path) -> Path:
    path = reports_dir / DRIFT_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def report_path(reports_dir: Path, when: datetime) -> Path:
    """reports/drift/drift_report_20260101T120000Z.html (microseconds keep names unique)."""
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%S_%fZ")
    return drift_dir(reports_dir) / f"drift_report_{stamp}.html"


def _atomic_write(path: Path, text: str) -> None:
    """node-exporter may read the file at any moment: write a temp file, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def prometheus_text(decision: DriftDecision) -> str:
    """The textfile-collector exposition. A run without a decision keeps drift at 0."""
    share = decision.drift_share if decision.drift_share is not None else 0.0
    detected = 1 if decision.drift_detected else 0
    return (
        "# HELP churn_drift_share Share of input features whose distribution drifted.\n"
        "# TYPE churn_drift_share gauge\n"
        f"churn_drift_share {share:.6f}\n"
        "# HELP churn_drift_detected 1 when the last monitoring run decided the data drifted.\n"
        "# TYPE churn_drift_detected gauge\n"
        f"churn_drift_detected {detected}\n"
        "# HELP churn_drift_last_run_timestamp_seconds Unix time of the last monitoring run.\n"
        "# TYPE churn_drift_last_run_timestamp_seconds gauge\n"
        f"churn_drift_last_run_timestamp_seconds {decision.timestamp:.3f}\n"
    )


def push_metrics(pushgateway_url: str, decision: DriftDecision, timeout_s: float = 5.0) -> None:
    """PUT the same exposition to a Prometheus Pushgateway (job `churn-monitoring`).

    Raises OSError when the gateway cannot be reached; the caller decides whether that matters.
    """
    url = f"{pushgateway_url.rstrip('/')}/metrics/job/churn-monitoring"
    body = prometheus_text(decision).encode()
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "text/plain; version=0.0.4"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        response.read()


def write_metrics(reports_dir: Path, decision: DriftDecision) -> Path:
    path = drift_dir(reports_dir) / METRICS_FILE
    _atomic_write(path, prometheus_text(decision))
    return path


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
