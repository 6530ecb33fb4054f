"""The broker side of the events: client settings, the consumer loop, the producer, topics.

`consume(...)` is `churn events consume`: a confluent-kafka consumer in the group
`CHURN_KAFKA_GROUP` takes up to `CHURN_KAFKA_BATCH` events at a time, hands the valid ones to the
`Handler`, sends the invalid ones (and the ones the handler rejected) to the dead-letter topic with
the reason, publishes the alerts, waits until the broker has them, marks the events done and only
then commits the offsets (at-least-once; idempotent by event id, churn/events/handler.py). Any
failure before the commit leaves the offsets where they were: the events come again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churn.events.contract import BadEvent, parse_event
from churn.settings import EventKnobs

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message, Producer

    from churn.events.handler import Handler
    from churn.events.metrics import EventMetrics

log = logging.getLogger(__name__)

ERROR_HEADER = "churn-error"
DELIVERY_TIMEOUT_S = 30.0
LAG_EVERY_S = 5.0
FIRST_EVENT_WAIT_S = 30.0
POLL_S = 0.1
"""How long one poll waits for a full batch: what an event waits at most when few arrive."""
RETRIES, RETRY_BASE_S, RETRY_MAX_S = 5, 0.5, 10.0


class DeliveryFailed(RuntimeError):
    """The broker did not take a dead letter or an alert: the batch is not committed."""


def client_config(knobs: EventKnobs) -> dict[str, Any]:
    """What every client gets: the bootstrap servers and the security options, passed through."""
    config: dict[str, Any] = {
        "bootstrap.servers": knobs.bootstrap,
        "security.protocol": knobs.security_protocol,
    }
    optional = {
        "sasl.mechanism": knobs.sasl_mechanism,
        "sasl.username": knobs.sasl_username,
        "sasl.password": knobs.sasl_password.get_secret_value() if knobs.sasl_password else None,
        "ssl.ca.location": knobs.ssl_ca_location,
        "ssl.certificate.location": knobs.ssl_certificate_location,
        "ssl.key.location": knobs.ssl_key_location,
    }
    config |= {k: str(v) for k, v in optional.items() if v is not None}
    return config


def consumer_config(knobs: EventKnobs) -> dict[str, Any]:
    return client_config(knobs) | {
        "group.id": knobs.group,
        "enable.auto.commit": False,  # committed by hand, after each batch is handled
        "auto.offset.reset": "earliest",  # a new group reads the topic from its start
        "session.timeout.ms": knobs.session_timeout_ms,
        "heartbeat.interval.ms": max(500, knobs.session_timeout_ms // 5),
        "max.poll.interval.ms": 60_000,
        "fetch.wait.max.ms": 100,  # the broker answers a fetch within 100 ms when idle
    }


def producer_config(knobs: EventKnobs) -> dict[str, Any]:
    return client_config(knobs) | {"linger.ms": 5, "acks": "all"}


def ensure_topics(knobs: EventKnobs, partitions: int) -> list[str]:
    """Create the events, alerts and dead-letter topics when missing; the ones created."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(client_config(knobs))
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [knobs.topic, knobs.alerts_topic, knobs.dead_letter_topic]
    new = [
        NewTopic(t, num_partitions=partitions if t == knobs.topic else 1, replication_factor=1)
        for t in wanted
        if t not in existing
    ]
    if new:
        for future in admin.create_topics(new).values():
            future.result(timeout=30)
    return [t.topic for t in new]


@dataclass
class Sent:
    """Delivery reports of one flush."""

    errors: list[str]

    def __call__(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.errors.append(f"{msg.topic()}: {err}")


def flush(producer: Producer, sent: Sent) -> None:
    left = producer.flush(DELIVERY_TIMEOUT_S)
    if left or sent.errors:
        errors = "; ".join(sent.errors[:3]) or f"{left} message(s) not delivered"
        sent.errors.clear()
        raise DeliveryFailed(
            f"the broker did not take them within {DELIVERY_TIMEOUT_S:g} s: {errors}"
        )


def dead_letter(
    message: Message, reason: str
) -> tuple[bytes, list[tuple[str, str | bytes | None]]]:
    """The dead letter of a message: the reason, where it came from, and the event as sent."""
    raw = message.value() or b""
    body = {
        "reason": reason,
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "key": (message.key() or b"").decode(errors="replace"),
        "event": raw.decode(errors="replace"),
    }
    headers: list[tuple[str, str | bytes | None]] = [(ERROR_HEADER, reason.encode()[:1000])]
    return json.dumps(body).encode(), headers


def consume(
    knobs: EventKnobs,
    handler: Handler,
    metrics: EventMetrics,
    stop: threading.Event,
    *,
    max_events: int | None = None,
    idle_exit_s: float | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Consume until `stop` is set (or `max_events` handled, or nothing came for `idle_exit_s`);
    the number of messages handled."""
    from confluent_kafka import Consumer, KafkaError, Producer

    consumer: Consumer = Consumer(consumer_config(knobs))
    producer: Producer = Producer(producer_config(knobs))
    sent = Sent([])
    consumer.subscribe([knobs.topic])
    total, idle_since, lag_at = 0, time.monotonic(), 0.0
    try:
        while not stop.is_set():
            messages = consumer.consume(knobs.batch, POLL_S)
            if time.monotonic() - lag_at > LAG_EVERY_S:
                metrics.lag(consumer)
                lag_at = time.monotonic()
            batch = []
            for message in messages:
                error = message.error()
                if error is None:
                    batch.append(message)
                elif error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer: %s", error)
            if not batch:
                # idle: counted from the last batch; before the first, joining the group counts
                if idle_exit_s is not None:
                    limit = idle_exit_s if total else max(idle_exit_s, FIRST_EVENT_WAIT_S)
                    if time.monotonic() - idle_since > limit:
                        break
                continue
            started = time.perf_counter()
            _handle_retrying(batch, knobs, handler, metrics, producer, sent, stop)
            consumer.commit(asynchronous=False)
            metrics.batch(len(batch), time.perf_counter() - started)
            total += len(batch)
            idle_since = time.monotonic()
            if on_batch is not None:
                on_batch(total)
            if max_events is not None and total >= max_events:
                break
    finally:
        consumer.close()
    return total


def _handle_retrying(
    batch: list[Message], knobs: EventKnobs, handler: Handler, metrics: EventMetrics,
    producer: Producer, sent: Sent, stop: threading.Event,
) -> None:  # fmt: skip
    """`_handle`, again after a failure (a store or the broker down), up to `RETRIES` times with
    backoff; then the error stops the consumer with its offsets uncommitted (nothing lost)."""
    for attempt in range(RETRIES + 1):
        try:
            _handle(batch, knobs, handler, metrics, producer, sent)
            return
        except Exception as exc:
            metrics.failure(type(exc).__name__)
            if attempt == RETRIES or stop.is_set():
                raise
            delay = min(RETRY_MAX_S, RETRY_BASE_S * 2**attempt)
            log.warning("events: batch failed (%s: %s); again in %.1f s", type(exc).__name__,
                        str(exc)[:200], delay)  # fmt: skip
            stop.wait(delay)


def _handle(
    batch: list[Message], knobs: EventKnobs, handler: Handler, metrics: EventMetrics,
    producer: Producer, sent: Sent,
) -> None:  # fmt: skip
    events, by_id, dead = [], {}, []
    for message in batch:
        try:
            event = parse_event(message.value() or b"", message.key())
        except BadEvent as exc:
            dead.append((message, exc.reason))
            continue
        events.append(event)
        by_id[event.event_id] = message
    outcome = handler.handle(events)
    dead += [(by_id[event.event_id], reason) for event, reason in outcome.rejected]
    for message, reason in dead:
        value, headers = dead_letter(message, reason)
        producer.produce(knobs.dead_letter_topic, value, message.key(), headers=headers,
                         on_delivery=sent)  # fmt: skip
    for alert in outcome.alerts:
        producer.produce(knobs.alerts_topic, alert.to_json(), alert.customerID.encode(),
                         on_delivery=sent)  # fmt: skip
    if dead or outcome.alerts:
        flush(producer, sent)
    handler.finish(outcome)
    produced_at = {
        event.event_id: by_id[event.event_id].timestamp()[1] / 1000 for event in events
    }  # fmt: skip
    metrics.outcome(events, outcome, len(dead), produced_at)


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line of a JSON-lines file."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield number, line.strip()


def produce(
    knobs: EventKnobs, lines: Iterable[tuple[int, str]], *, validate: bool = True
) -> tuple[int, list[tuple[int, str]]]:
    """Send each line to the events topic keyed by its customerID; (sent, refused lines with the
    reason). With `validate`, a line that breaks the contract is not sent."""
    from confluent_kafka import Producer

    producer = Producer(producer_config(knobs))
    sent = Sent([])
    count, refused = 0, []
    for number, line in lines:
        key: str | None
        if validate:
            try:
                key = parse_event(line).customerID
            except BadEvent as exc:
                refused.append((number, exc.reason))
                continue
        else:
            try:
                data = json.loads(line)
                key = str(data.get("customerID")) if isinstance(data, dict) else None
            except json.JSONDecodeError:
                key = None
        while True:
            try:
                producer.produce(knobs.topic, line.encode(), key.encode() if key else None,
                                 on_delivery=sent)  # fmt: skip
                break
            except BufferError:  # the local queue is full: let it drain
                producer.poll(0.1)
        count += 1
        if count % 10_000 == 0:
            producer.poll(0)
    flush(producer, sent)
    return count, refused
