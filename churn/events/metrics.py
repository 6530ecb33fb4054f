"""The consumer's Prometheus metrics (names in docs/CONTRACT.md), on a registry of its own, served
by `churn events consume` on `CHURN_KAFKA_METRICS_PORT` for Prometheus to scrape."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import prometheus_client as prom

if TYPE_CHECKING:
    from churn.events.handler import Outcome

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class EventMetrics:
    def __init__(self, registry: prom.CollectorRegistry | None = None) -> None:
        self.registry = registry or prom.CollectorRegistry()
        r = self.registry
        self.consumed = prom.Counter(
            "churn_events_consumed", "Customer events taken from the topic, by kind", ["kind"],
            registry=r,
        )  # fmt: skip
        self.dead_letters = prom.Counter(
            "churn_events_dead_letters", "Events sent to the dead-letter topic", registry=r
        )
        self.rescored = prom.Counter(
            "churn_events_rescored", "Customers re-scored after an event", registry=r
        )
        self.duplicates = prom.Counter(
            "churn_events_duplicates", "Redelivered events skipped (already handled)", registry=r
        )
        self.alerts = prom.Counter(
            "churn_events_alerts", "Retention alerts published, by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.failures = prom.Counter(
            "churn_events_batch_failures", "Batches that failed (and were retried), by error",
            ["error"], registry=r,
        )  # fmt: skip
        self.consumer_lag = prom.Gauge(
            "churn_events_consumer_lag",
            "Events on the topic not yet consumed by this consumer, by partition",
            ["partition"], registry=r,
        )  # fmt: skip
        self.batch_seconds = prom.Histogram(
            "churn_events_batch_seconds", "Time to handle one batch, commit included",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.event_age = prom.Histogram(
            "churn_events_handled_age_seconds",
            "From the event's arrival on the topic to its re-score being recorded",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip

    def serve(self, port: int, address: str) -> None:
        prom.start_http_server(port, address, registry=self.registry)

    def outcome(
        self, events: Sequence[Any], outcome: Outcome, dead: int, produced_at: dict[str, float]
    ) -> None:
        for event in events:
            self.consumed.labels(event.kind).inc()
        if dead:
            self.dead_letters.inc(dead)
        self.rescored.inc(outcome.rescored)
        self.duplicates.inc(outcome.skipped)
        for alert in outcome.alerts:
            self.alerts.labels(alert.reason).inc()
        now = time.time()
        for stamp in produced_at.values():
            if stamp > 0:
                self.event_age.observe(max(0.0, now - stamp))

    def batch(self, n: int, seconds: float) -> None:
        self.batch_seconds.observe(seconds)

    def failure(self, error: str) -> None:
        self.failures.labels(error).inc()

    def lag(self, consumer: Any) -> None:
        """Per assigned partition: the high watermark minus the consumer's position."""
        try:
            assigned = consumer.assignment()
            positions = consumer.position(assigned) if assigned else []
        except Exception:  # a rebalance in progress: next time
            return
        for tp in positions:
            try:
                _, high = consumer.get_watermark_offsets(tp, timeout=2)
            except Exception:
                continue
            behind = high - tp.offset if tp.offset >= 0 else high
            self.consumer_lag.labels(str(tp.partition)).set(max(0, behind))
