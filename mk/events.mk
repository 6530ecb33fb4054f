# Customer events on Kafka (docs/events.md). Owned by the events part.
# The Makefile includes this file; `make test` syncs the `events` group (the Tansu broker the
# tests start on loopback).

.PHONY: events-demo benchmark-events test-events

events-demo: venv ## after `make run`: a loopback broker, a cancellation call, the risk rising, the alert
	$(UV) sync --frozen --inexact --group events
	$(PY) scripts/events_demo.py

benchmark-events: venv ## events/s re-scored with features in Redis, produce-to-alert p50/p99 (docs/events.md)
	$(UV) sync --frozen --inexact --group events
	$(PY) benchmarks/events_benchmark.py

test-events: venv ## the events tests against Tansu and Redis on loopback
	$(UV) sync --frozen --inexact --group events
	$(PY) -m pytest tests/events -q
