"""The monitoring run's drift gauges for Prometheus (names fixed by docs/CONTRACT.md).

Two ways out, both `prometheus_client`'s own: a textfile for node-exporter's textfile collector
(`write_to_textfile`: a temp file renamed into place, so a scrape never reads half a file) and a
Pushgateway PUT (`push_to_gateway`, job `churn-monitoring`), with basic auth when the gateway is
locked (`CHURN_PUSHGATEWAY_USER`/`_PASSWORD`). Outside `churn/`, which may not import
prometheus_client (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile
from prometheus_client.exposition import basic_auth_handler, default_handler

from churn.monitoring.decision import DriftDecision
from churn.monitoring.export import drift_dir
from churn.settings import get_settings

METRICS_FILE = "metrics.prom"
PUSH_JOB = "churn-monitoring"
Auth = tuple[str, str] | None
logger = logging.getLogger(__name__)


def push_registry(
    pushgateway_url: str,
    registry: CollectorRegistry,
    grouping_key: dict[str, str] | None = None,
    auth: Auth = None,
    timeout_s: float = 5.0,
) -> None:
    """PUT `registry` under job `churn-monitoring` (and `grouping_key`), as `auth`'s user if given.

    Raises OSError when the gateway cannot be reached or refuses (401 without credentials)."""
    handler: Callable[..., Callable[[], None]] = default_handler
    if auth is not None:
        user, password = auth

        def handler(url: str, method: str, timeout: float | None, headers: Any, data: bytes):
            return basic_auth_handler(url, method, timeout, headers, data, user, password)

    push_to_gateway(
        pushgateway_url.rstrip("/"), job=PUSH_JOB, registry=registry,
        grouping_key=grouping_key, timeout=timeout_s, handler=handler,
    )  # fmt: skip


def push_configured(
    what: str, registry: CollectorRegistry, grouping_key: dict[str, str] | None = None
) -> bool:
    """Push to the gateway of the settings (`CHURN_PUSHGATEWAY_*`), if one is set. A failure is
    logged, not raised: the textfile and the history still hold the result. True when pushed."""
    settings = get_settings()
    if not settings.pushgateway_url:
        return False
    try:
        push_registry(settings.pushgateway_url, registry, grouping_key, settings.pushgateway_auth())
    except OSError as exc:
        logger.warning("could not push %s to %s: %s", what, settings.pushgateway_url, exc)
        return False
    return True


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


def push_metrics(
    pushgateway_url: str, decision: DriftDecision, timeout_s: float = 5.0, auth: Auth = None
) -> None:
    """PUT the drift gauges to a Prometheus Pushgateway (job `churn-monitoring`).

    Raises OSError when the gateway cannot be reached; the caller decides whether that matters.
    """
    push_registry(pushgateway_url, drift_registry(decision), auth=auth, timeout_s=timeout_s)


REALIZED_FILE = "realized.prom"
REALIZED_GAUGES = (
    ("roc_auc", "churn_realized_roc_auc", "Realized ROC-AUC of the served predictions."),
    ("brier", "churn_realized_brier", "Realized Brier score of the served probabilities."),
    ("precision", "churn_realized_precision", "Realized precision of the served decisions."),
    ("recall", "churn_realized_recall", "Realized recall of the served decisions."),
    ("n", "churn_realized_n", "Outcomes joined to a prediction in the realized window."),
)


def realized_registry(realized: dict[str, Any]) -> CollectorRegistry:
    """Per (model_version, arm) gauges, plus `churn_realized_degraded` (1 when production's
    realized ROC-AUC was judged worse: the ChurnRealizedRocAucDrop alert fires on it) and
    `churn_auto_rollback` (1 when this run rolled production back)."""
    registry = CollectorRegistry()
    labels = ["model_version", "arm"]
    gauges = {
        key: Gauge(name, doc, labels, registry=registry) for key, name, doc in REALIZED_GAUGES
    }
    for row in realized.get("metrics", []):
        for key, gauge in gauges.items():
            if row.get(key) is not None:
                gauge.labels(row["model_version"], row["arm"]).set(row[key])
    decision = realized.get("decision") or {}
    Gauge(
        "churn_realized_degraded",
        "1 when the last monitoring run found production's realized ROC-AUC degraded.",
        registry=registry,
    ).set(1 if decision.get("degraded") else 0)
    Gauge(
        "churn_auto_rollback",
        "1 when the last monitoring run rolled production back automatically.",
        registry=registry,
    ).set(1 if (realized.get("rollback") or {}).get("performed") else 0)
    return registry


def write_realized_metrics(reports_dir: Path, realized: dict[str, Any]) -> Path:
    """reports/drift/realized.prom, beside metrics.prom for the same textfile collector."""
    path = drift_dir(reports_dir) / REALIZED_FILE
    write_to_textfile(str(path), realized_registry(realized))
    return path
