"""The monitoring run's drift gauges for Prometheus (names fixed by docs/CONTRACT.md).

Two ways out, both `prometheus_client`'s own: a textfile for node-exporter's textfile collector
(`write_to_textfile`: a temp file renamed into place, so a scrape never reads half a file) and a
Pushgateway PUT (`push_to_gateway`, job `churn-monitoring`). Outside `churn/`, which may not import
prometheus_client (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from churn.monitoring.decision import DriftDecision
from churn.monitoring.export import drift_dir

METRICS_FILE = "metrics.prom"
PUSH_JOB = "churn-monitoring"


def drift_registry(decision: DriftDecision) -> CollectorRegistry:
    """A registry holding only the three drift gauges. A run without a decision keeps drift at 0."""
    registry = CollectorRegistry()
    share = decision.drift_share if decision.drift_share is not None else 0.0
    gauges = (
        ("churn_drift_share", "Share of input features whose distribution drifted.", share),
        (
            "churn_drift_detected",
            "1 when the last monitoring run decided the data drifted.",
            1 if decision.drift_detected else 0,
        ),
        (
            "churn_drift_last_run_timestamp_seconds",
            "Unix time of the last monitoring run.",
            decision.timestamp,
        ),
    )
    for name, doc, value in gauges:
        Gauge(name, doc, registry=registry).set(round(value, 6))
    return registry


def write_metrics(reports_dir: Path, decision: DriftDecision) -> Path:
    """reports/drift/metrics.prom, replaced atomically."""
    path = drift_dir(reports_dir) / METRICS_FILE
    write_to_textfile(str(path), drift_registry(decision))
    return path


def push_metrics(pushgateway_url: str, decision: DriftDecision, timeout_s: float = 5.0) -> None:
    """PUT the gauges to a Prometheus Pushgateway (job `churn-monitoring`).

    Raises OSError when the gateway cannot be reached; the caller decides whether that matters.
    """
    push_to_gateway(
        pushgateway_url.rstrip("/"),
        job=PUSH_JOB,
        registry=drift_registry(decision),
        timeout=timeout_s,
    )
