"""Live figures from the service's Prometheus `/metrics` text: rates, latency percentiles, batch
sizes, prediction mix. Works on two snapshots taken some seconds apart."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "bentoml_service_request_total"
DURATION = "bentoml_service_request_duration_seconds"
BATCH_SIZE = "bentoml_service_adaptive_batch_size"
PREDICTIONS = "churn_predictions_total"

Histogram = dict[float, float]
"""Cumulative bucket counts keyed by upper bound (inf included)."""


@dataclass
class Snapshot:
    taken_at: float
    requests: dict[str, float] = field(default_factory=dict)
    """Requests per endpoint (all status codes)."""
    errors: dict[str, float] = field(default_factory=dict)
    """Requests per endpoint answered with 5xx."""
    latency: dict[str, Histogram] = field(default_factory=dict)
    batch_size: Histogram = field(default_factory=dict)
    predictions: dict[str, float] = field(default_factory=dict)


def _add(table: dict[str, float], key: str, value: float) -> None:
    table[key] = table.get(key, 0.0) + value


def parse(text: str, taken_at: float | None = None) -> Snapshot:
    snap = Snapshot(taken_at=time.time() if taken_at is None else taken_at)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels, value = sample.labels, float(sample.value)
            endpoint = labels.get("endpoint", "")
            if sample.name == REQUESTS:
                _add(snap.requests, endpoint, value)
                if labels.get("http_response_code", "").startswith("5"):
                    _add(snap.errors, endpoint, value)
            elif sample.name == f"{DURATION}_bucket":
                hist = snap.latency.setdefault(endpoint, {})
                le = float(labels["le"])
                hist[le] = hist.get(le, 0.0) + value
            elif sample.name == f"{BATCH_SIZE}_bucket":
                le = float(labels["le"])
                snap.batch_size[le] = snap.batch_size.get(le, 0.0) + value
            elif sample.name == PREDICTIONS:
                _add(snap.predictions, labels.get("decision", "?"), value)
    return snap


def diff_hist(new: Histogram, old: Histogram | None) -> Histogram:
    if not old:
        return dict(new)
    return {le: max(count - old.get(le, 0.0), 0.0) for le, count in new.items()}


def quantile(q: float, hist: Histogram) -> float | None:
    """Prometheus' `histogram_quantile`: linear interpolation inside the bucket."""
    if not hist:
        return None
    bounds = sorted(hist)
    total = hist[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound in bounds:
        count = hist[bound]
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            in_bucket = count - prev_count
            frac = (rank - prev_count) / in_bucket if in_bucket else 1.0
            return prev_bound + (bound - prev_bound) * frac
        prev_bound, prev_count = bound, count
    return prev_bound


def rates(new: Snapshot, old: Snapshot | None) -> dict[str, float]:
    """Requests per second per endpoint between two snapshots ({} without an earlier one)."""
    if old is None or new.taken_at <= old.taken_at:
        return {}
    span = new.taken_at - old.taken_at
    return {
        ep: max(count - old.requests.get(ep, 0.0), 0.0) / span for ep, count in new.requests.items()
    }


def latency_table(new: Snapshot, old: Snapshot | None) -> list[dict[str, float | str | None]]:
    """p50/p95/p99 (ms) per endpoint over the interval (or since start without an old snapshot)."""
    rows: list[dict[str, float | str | None]] = []
    for endpoint, hist in sorted(new.latency.items()):
        window = diff_hist(hist, old.latency.get(endpoint) if old else None)
        if not window or max(window.values()) == 0:
            window = hist
        row: dict[str, float | str | None] = {"endpoint": endpoint}
        for q in (0.5, 0.95, 0.99):
            value = quantile(q, window)
            row[f"p{round(q * 100)}_ms"] = None if value is None else round(value * 1000, 1)
        rows.append(row)
    return rows


def batch_size_percentiles(snap: Snapshot) -> dict[str, float | None]:
    return {f"p{round(q * 100)}": quantile(q, snap.batch_size) for q in (0.5, 0.95)}
