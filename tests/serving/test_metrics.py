"""Bulk histogram observation gives exactly what one observe per value gives."""

from __future__ import annotations

import numpy as np
import prometheus_client
from prometheus_client import CollectorRegistry

from bentos.metrics import PROBABILITY_BUCKETS, observe_many


def _samples(histogram: prometheus_client.Histogram) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name.split("_", 1)[1], s.labels, round(s.value, 9))
        for metric in histogram.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    ]


def test_observe_many_equals_observe_one_by_one() -> None:
    registry = CollectorRegistry()
    values = [*np.random.default_rng(0).random(500).tolist(), 0.0, 0.05, 0.3, 0.6, 1.0]
    one = prometheus_client.Histogram("a_p", "", buckets=PROBABILITY_BUCKETS, registry=registry)
    bulk = prometheus_client.Histogram("b_p", "", buckets=PROBABILITY_BUCKETS, registry=registry)
    for v in values:
        one.observe(v)
    observe_many(bulk, values)
    assert _samples(one) == _samples(bulk)
    assert ("p_count", {}, float(len(values))) in _samples(bulk)
