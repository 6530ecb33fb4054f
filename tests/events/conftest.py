"""The events tests' servers and data: one Tansu broker and one Redis for the module, a model in
the session's BentoML store, and per test its own topics, group, Redis database, feature
registry and project database (so tests on the same servers never see each other's events)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from churn.settings import Settings
from tests.fixtures.kafka import Broker, running_broker
from tests.fixtures.redis import RedisServer
from tests.fixtures.redis import redis_server as redis_server

CUSTOMERS = 60
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    with running_broker() as running:
        yield running


@pytest.fixture(scope="session")
def customers() -> dict[str, dict[str, Any]]:
    """customerID -> the 19 inputs of a few generated customers."""
    from churn.events.generate import records_of
    from churn.generator import generate

    return records_of(generate(CUSTOMERS, seed=11))


@pytest.fixture(scope="session")
def model_tag() -> str:
    """A model the training pipeline could promote, in the session's BentoML store."""
    from churn.generator import generate
    from tests.fixtures.promotable import SHIPPED_FAMILY, save_candidate

    return str(save_candidate(SHIPPED_FAMILY, generate(2000, seed=5), threshold=0.4).tag)


@pytest.fixture(scope="session")
def scorer(model_tag: str) -> Any:
    from churn.control.models import load_production
    from churn.events.handler import Scorer

    model = load_production(model_tag)
    return Scorer(model.probabilities, model.threshold, model.version)


@dataclass
class Lane:
    """One test's topics, group, stores and settings on the shared servers."""

    settings: Settings
    env: dict[str, str]
    engine: sa.Engine

    @property
    def knobs(self) -> Any:
        return self.settings.events


@pytest.fixture()
def lane(
    broker: Broker, redis_server: RedisServer, tmp_path: Path, customers: dict[str, Any]
) -> Iterator[Lane]:
    from churn.db.outcomes import engine_for
    from churn.events.kafka import ensure_topics
    from churn.feature_store.config import forget_stores
    from churn.feature_store.online_write import write_records

    n = next(_numbers)
    env = {
        "CHURN_KAFKA_BOOTSTRAP": broker.bootstrap,
        "CHURN_KAFKA_TOPIC": f"events-{n}",
        "CHURN_KAFKA_ALERTS_TOPIC": f"alerts-{n}",
        "CHURN_KAFKA_DEAD_LETTER_TOPIC": f"dead-{n}",
        "CHURN_KAFKA_GROUP": f"group-{n}",
        "CHURN_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "CHURN_KAFKA_BATCH": "100",
        "CHURN_KAFKA_METRICS_PORT": "0",
        "CHURN_FEATURE_ONLINE_STORE": redis_server.url(n % 16),
        "CHURN_FEATURE_DIR": str(tmp_path / "features"),
        "CHURN_PREDICTION_DB": f"sqlite:///{tmp_path / 'project.db'}",
    }
    settings = Settings(
        feature_online_store=env["CHURN_FEATURE_ONLINE_STORE"],
        feature_dir=Path(env["CHURN_FEATURE_DIR"]),
        prediction_db=env["CHURN_PREDICTION_DB"],
        events={  # type: ignore[arg-type]
            "bootstrap": broker.bootstrap, "topic": env["CHURN_KAFKA_TOPIC"],
            "alerts_topic": env["CHURN_KAFKA_ALERTS_TOPIC"],
            "dead_letter_topic": env["CHURN_KAFKA_DEAD_LETTER_TOPIC"],
            "group": env["CHURN_KAFKA_GROUP"], "session_timeout_ms": 6000, "batch": 100,
            "metrics_port": 0,
        },
    )  # fmt: skip
    import redis

    redis.Redis.from_url(env["CHURN_FEATURE_ONLINE_STORE"]).flushdb()
    ensure_topics(settings.events, partitions=4)
    write_records(customers, settings)  # the customers' current attributes, online
    engine = engine_for(settings.prediction_db)
    yield Lane(settings, env, engine)
    engine.dispose()
    forget_stores()


def produce_events(lane: Lane, events: list[dict[str, Any]] | list[str]) -> None:
    from churn.events.kafka import produce

    lines = [(i + 1, e if isinstance(e, str) else json.dumps(e)) for i, e in enumerate(events)]
    sent, refused = produce(lane.knobs, lines, validate=False)
    assert sent == len(events) and not refused


def read_topic(lane: Lane, topic: str, expect: int, timeout_s: float = 20.0) -> list[Any]:
    """Every message of `topic` (a reader group of its own), waiting for at least `expect`."""
    from confluent_kafka import Consumer

    from churn.events.kafka import consumer_config

    config = consumer_config(lane.knobs) | {"group.id": f"reader-{topic}-{time.monotonic_ns()}"}
    consumer = Consumer(config)
    consumer.subscribe([topic])
    out: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            out += [m for m in consumer.consume(500, 0.5) if m.error() is None]
            if len(out) >= expect:
                for m in consumer.consume(500, 1.0):  # anything more (a duplicate) shows too
                    if m.error() is None:
                        out.append(m)
                break
    finally:
        consumer.close()
    return out


def run_consumer(lane: Lane, scorer: Any, **kwargs: Any) -> tuple[int, Any, Any]:
    """`consume` in this process until idle; (messages handled, handler, metrics)."""
    from churn.events.handler import Handler
    from churn.events.kafka import consume
    from churn.events.metrics import EventMetrics

    handler = Handler(lane.settings, scorer, lane.engine)
    metrics = EventMetrics()
    kwargs.setdefault("idle_exit_s", 3.0)
    total = consume(lane.knobs, handler, metrics, threading.Event(), **kwargs)
    return total, handler, metrics


def counter(metrics: Any, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels or None)
    return float(value or 0.0)
