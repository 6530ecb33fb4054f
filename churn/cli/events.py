"""`churn events ...`: consume customer events, produce a file of them, generate a day of them.

confluent-kafka, Feast, BentoML and prometheus_client are imported inside the handlers only.
Settings: `CHURN_KAFKA_*` (`churn.settings.EventKnobs`, docs/events.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from churn.cli import EXIT_OK, EXIT_USAGE, command_group, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = command_group(
        subparsers, "events", "customer events on Kafka: consume, produce, generate"
    )
    con = sub.add_parser(
        "consume",
        help="update customers' features and re-score them from the events topic",
        description="A member of the consumer group CHURN_KAFKA_GROUP: each event updates the "
        "customer's online features, re-scores the customer with the production model, logs the "
        "prediction with its cause and publishes retention alerts. At-least-once, idempotent by "
        "event id; SIGTERM stops after the batch in hand.",
    )
    con.add_argument("--model", default=None, help="a model tag (default: the production model)")
    con.add_argument("--max-events", type=int, default=None, help="stop after this many")
    con.add_argument(
        "--idle-exit", type=float, default=None, metavar="S",
        help="stop when no event came for S seconds (replays, demos)",
    )  # fmt: skip
    con.set_defaults(func=cmd_consume)
    pro = sub.add_parser("produce", help="send a JSON-lines file of events to the events topic")
    pro.add_argument("path", type=Path, help="one event (JSON object) per line")
    pro.add_argument(
        "--no-validate", action="store_true",
        help="send every line as it is (to try the dead-letter topic)",
    )  # fmt: skip
    pro.set_defaults(func=cmd_produce)
    gen = sub.add_parser("generate", help="write a day of events for customers of a Telco file")
    gen.add_argument("--out", type=Path, required=True, help="the JSON-lines file to write")
    gen.add_argument(
        "--data", type=Path, default=None, help="Telco CSV (default: the default data)"
    )
    gen.add_argument("--customers", type=int, default=1000, help="the file's first N customers")
    gen.add_argument("--events", type=int, default=5000, help="about this many events")
    gen.add_argument("--date", type=dt.date.fromisoformat, default=None, help="the day (UTC)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--at-risk", type=float, default=0.05, help="share in the cancellation scenario"
    )
    gen.add_argument("--focus", default=None, help="a customerID always in that scenario")
    gen.set_defaults(func=cmd_generate)
    top = sub.add_parser("topics", help="create the events, alerts and dead-letter topics")
    top.add_argument("--partitions", type=int, default=4, help="of the events topic")
    top.set_defaults(func=cmd_topics)
    sch = sub.add_parser("schema", help="print the event contract as JSON Schema")
    sch.set_defaults(func=cmd_schema)


def _settings() -> Any:
    from churn.settings import load_settings

    return load_settings()


def cmd_consume(args: argparse.Namespace) -> int:
    from churn.settings import SettingsError

    try:
        settings = _settings()
    except SettingsError as exc:
        return fail(str(exc), EXIT_USAGE)
    from churn.control.models import ModelNotFound, load_production
    from churn.control.privacy import RawCustomerIdsRefused, require_customer_key
    from churn.db.outcomes import engine_for
    from churn.events.handler import Handler, Scorer
    from churn.events.kafka import DeliveryFailed, consume
    from churn.events.metrics import EventMetrics
    from churn.feature_store.online import FeatureStoreError

    try:
        require_customer_key(settings)
        model = load_production(args.model)
    except (ModelNotFound, RawCustomerIdsRefused) as exc:
        return fail(str(exc))
    knobs = settings.events
    handler = Handler(
        settings, Scorer(model.probabilities, model.threshold, model.version),
        engine_for(settings.prediction_db),
    )  # fmt: skip
    metrics = EventMetrics()
    if knobs.metrics_port:
        metrics.serve(knobs.metrics_port, knobs.metrics_address)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"consuming {knobs.topic} at {knobs.bootstrap} as group {knobs.group} with "
          f"{model.describe()}", file=sys.stderr, flush=True)  # fmt: skip
    try:
        total = consume(knobs, handler, metrics, stop, max_events=args.max_events,
                        idle_exit_s=args.idle_exit)  # fmt: skip
    except (FeatureStoreError, DeliveryFailed) as exc:
        return fail(f"{exc} (offsets not committed: the batch comes again)")
    print(f"handled {total} events", file=sys.stderr)
    return EXIT_OK


def cmd_produce(args: argparse.Namespace) -> int:
    if not args.path.is_file():
        return fail(f"no such file: {args.path}", EXIT_USAGE)
    from churn.events.kafka import DeliveryFailed, produce, read_lines

    knobs = _settings().events
    try:
        sent, refused = produce(knobs, read_lines(args.path), validate=not args.no_validate)
    except DeliveryFailed as exc:
        return fail(str(exc))
    print(f"sent {sent} events to {knobs.topic} at {knobs.bootstrap}", file=sys.stderr)
    for number, reason in refused[:20]:
        print(f"line {number}: {reason}", file=sys.stderr)
    if refused:
        return fail(f"{len(refused)} line(s) break the event contract and were not sent")
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    from churn.data import load_clean
    from churn.events.generate import day_of_events, dumps, records_of

    settings = _settings()
    data = args.data or settings.default_data
    if not data.is_file():
        return fail(f"no such file: {data} (run `make data`, or give --data)", EXIT_USAGE)
    records = records_of(load_clean(data), args.customers)
    if args.focus is not None and args.focus not in records:
        return fail(f"--focus {args.focus}: not among the first {args.customers} customers",
                    EXIT_USAGE)  # fmt: skip
    day = args.date or dt.datetime.now(dt.UTC).date()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with args.out.open("w", encoding="utf-8") as out:
        for event in day_of_events(records, day, args.events, seed=args.seed,
                                   at_risk=args.at_risk, focus=args.focus):  # fmt: skip
            out.write(dumps(event) + "\n")
            n += 1
    print(f"wrote {n} events for {len(records)} customers on {day} -> {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_topics(args: argparse.Namespace) -> int:
    from churn.events.kafka import ensure_topics

    created = ensure_topics(_settings().events, args.partitions)
    print("created: " + (", ".join(created) or "none (all there)"), file=sys.stderr)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from churn.events.contract import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK
