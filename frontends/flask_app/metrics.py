"""The app's own Prometheus metrics (names fixed in docs/CONTRACT.md).

Each app gets its own registry (tests build many apps). Under gunicorn with several workers set
`PROMETHEUS_MULTIPROC_DIR`: `/metrics` then aggregates every worker's values.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class AppMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "churn_flask_requests_total",
            "HTTP requests served by the Flask UI",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "churn_flask_request_duration_seconds",
            "Flask UI request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.service_calls = Counter(
            "churn_flask_service_calls_total",
            "Calls from the Flask UI to the churn service",
            ["endpoint", "outcome"],
            registry=self.registry,
        )

    def observe_service_call(self, endpoint: str, outcome: str) -> None:
        self.service_calls.labels(endpoint=endpoint, outcome=outcome).inc()

    def init_app(self, app: Flask) -> None:
        app.before_request(_start_timer)
        app.after_request(self._record)
        app.add_url_rule("/metrics", "metrics", self.export)

    def _record(self, response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        if endpoint == "static":
            return response
        started = g.get("started_at")
        if started is not None:
            self.latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)
        self.requests.labels(endpoint=endpoint, status=str(response.status_code)).inc()
        return response

    def export(self) -> Response:
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.started_at = time.perf_counter()
