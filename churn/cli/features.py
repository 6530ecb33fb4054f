"""`churn features ingest|materialize|get|training-set`: the Feast feature store (docs/features.md).

The settings choose the stores (`CHURN_FEATURE_*`; unset: the embedded ones under `data/features`).
Feast is imported inside the handlers only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

from churn.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, command_group, fail


def timestamp(text: str) -> dt.datetime:
    """An ISO 8601 time (naive: UTC) or `now`, as an aware UTC datetime."""
    if text.strip().lower() == "now":
        return dt.datetime.now(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-12-01T00:00:00Z)"
        ) from None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def add_ids_arguments(parser: argparse.ArgumentParser, instead_of: str) -> None:
    """`--ids FILE` and `--as-of TS`: customers by ID, read from the offline store (`churn
    predict` and `churn campaign plan`)."""
    parser.add_argument(
        "--ids", type=Path, help=f"instead of {instead_of}: a file of customerIDs (CSV or "
        "Parquet), their attributes from the feature store's offline store (docs/features.md)"
    )  # fmt: skip
    parser.add_argument(
        "--as-of", help="with --ids: the customers as they were at this time (default now)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = command_group(subparsers, "features", "the feature store: customers by ID (Feast)")
    ing = sub.add_parser(
        "ingest",
        help="ingest a customer extract (CSV or Parquet) into the offline store",
        description="Rows are validated by the row validator of `churn validate`; a bad row is "
        "reported and not ingested, the others are.",
    )
    ing.add_argument("path", type=Path, help="customers, .csv or .parquet, with customerID")
    ing.add_argument(
        "--as-of", type=timestamp, required=True, help="when the extract was taken (ISO 8601)"
    )
    ing.add_argument("--chunk-rows", type=int, default=100_000, help="rows per chunk")
    ing.set_defaults(func=cmd_ingest)
    mat = sub.add_parser(
        "materialize", help="copy what was ingested since the last run into the online store"
    )
    mat.add_argument("--end", type=timestamp, default=None, help="up to this time (default now)")
    mat.add_argument(
        "--chunk-rows", type=int, default=50_000, help="rows read and written at a time"
    )
    mat.set_defaults(func=cmd_materialize)
    get = sub.add_parser("get", help="one customer's attributes (online; --as-of: offline)")
    get.add_argument("customer_id", metavar="ID")
    get.add_argument("--as-of", type=timestamp, default=None, help="as they were at this time")
    get.set_defaults(func=cmd_get)
    ts = sub.add_parser(
        "training-set",
        help="outcomes joined to the attributes known when each was observed (point in time)",
    )
    ts.add_argument("labels", type=Path, help="CSV: customerID, Churn, observed_at")
    ts.add_argument("--out", type=Path, required=True, help="the training set, .csv or .parquet")
    ts.set_defaults(func=cmd_training_set)


def _settings() -> Any:
    from churn.settings import load_settings

    return load_settings()


def _store_errors() -> tuple[type[BaseException], ...]:
    from churn.batch.files import BatchInputError
    from churn.feature_store.offline import NoFeatures
    from churn.feature_store.online import FeatureStoreError
    from churn.outcomes import OutcomeInputError
    from churn.settings import SettingsError

    return (BatchInputError, NoFeatures, FeatureStoreError, OutcomeInputError, SettingsError)


def cmd_ingest(args: argparse.Namespace) -> int:
    if args.chunk_rows < 1:
        return fail(f"--chunk-rows must be at least 1, got {args.chunk_rows}", EXIT_USAGE)
    if not args.path.is_file():
        return fail(f"no such file: {args.path}", EXIT_USAGE)
    from churn.batch.stream import MAX_SHOWN
    from churn.feature_store.ingest import ingest_file

    try:
        report = ingest_file(args.path, args.as_of, _settings(), args.chunk_rows)
    except _store_errors() as exc:
        return fail(str(exc))
    print(
        f"ingested {report.accepted} of {report.rows} customers from {args.path} "
        f"as of {args.as_of:%Y-%m-%dT%H:%M:%SZ}",
        file=sys.stderr,
    )
    if report.rejected:
        print(
            f"{report.rejected} row(s) failed validation and were not ingested "
            f"(the first {min(report.rejected, MAX_SHOWN)}):",
            file=sys.stderr,
        )
        for problem in report.shown:
            who = f" ({problem.customer_id})" if problem.customer_id else ""
            print(f"  - line {problem.line}{who}: {problem.reason}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def cmd_materialize(args: argparse.Namespace) -> int:
    if args.chunk_rows < 1:
        return fail(f"--chunk-rows must be at least 1, got {args.chunk_rows}", EXIT_USAGE)
    import time

    from churn.feature_store.offline import materialize

    shown = [0.0]

    def progress(done: Any) -> None:  # a line every 5 s: rows written so far and the rate
        if time.monotonic() - shown[0] >= 5:
            shown[0] = time.monotonic()
            print(done.line(), file=sys.stderr, flush=True)

    try:
        done = materialize(_settings(), args.end, args.chunk_rows, progress)
    except _store_errors() as exc:
        return fail(str(exc))
    print(done.line(), file=sys.stderr)
    print(
        f"materialized the online store from {done.start:%Y-%m-%dT%H:%M:%SZ} "
        f"to {done.end:%Y-%m-%dT%H:%M:%SZ}",
        file=sys.stderr,
    )
    return EXIT_OK


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def cmd_get(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        if args.as_of is None:
            from churn.feature_store.online import online_records

            records, as_of = online_records([args.customer_id], settings)
            record, when = records[0], as_of[0]
        else:
            from churn.feature_store.offline import as_record, known, records_as_of

            frame = records_as_of([args.customer_id], args.as_of, settings)
            if not known(frame).iloc[0]:
                return fail(f"unknown customerID as of {args.as_of:%Y-%m-%dT%H:%M:%SZ}: "
                            f"{args.customer_id}")  # fmt: skip
            row = {k: _plain(v) for k, v in frame.iloc[0].to_dict().items()}
            record, when = as_record(row), None
    except _store_errors() as exc:
        return fail(str(exc))
    out: dict[str, Any] = {"customer": record}
    if when is not None:
        out["features_as_of"] = when.isoformat().replace("+00:00", "Z")
    print(json.dumps(out, indent=2))
    return EXIT_OK


def cmd_training_set(args: argparse.Namespace) -> int:
    if not args.labels.is_file():
        return fail(f"no such file: {args.labels}", EXIT_USAGE)
    from churn.batch.files import BatchInputError, file_format

    try:
        file_format(args.out)
    except BatchInputError as exc:
        return fail(str(exc), EXIT_USAGE)
    from churn.feature_store.offline import training_set

    try:
        report = training_set(args.labels, args.out, _settings())
    except _store_errors() as exc:
        return fail(f"{args.labels}: {exc}")
    print(f"wrote {report.written} of {report.rows} labelled rows to {args.out}", file=sys.stderr)
    if report.missing:
        shown = ", ".join(report.missing[:20])
        print(
            f"{len(report.missing)} label(s) have no attributes at or before their observed_at "
            f"and were left out: {shown}",
            file=sys.stderr,
        )
    return EXIT_OK if report.written else EXIT_FAILURE


def predict_ids(args: argparse.Namespace) -> int:
    """`churn predict --ids FILE [--as-of TS]`: the IDs' records from the offline store, scored
    by the production model (the campaign planner's `--ids` can call this the same way)."""
    if not args.ids.is_file():
        return fail(f"no such file: {args.ids}", EXIT_USAGE)
    try:
        as_of = timestamp(args.as_of) if args.as_of else dt.datetime.now(dt.UTC)
    except argparse.ArgumentTypeError as exc:
        return fail(f"--as-of: {exc}", EXIT_USAGE)
    from churn.batch.files import BatchInputError, file_format

    errors_path = args.errors or args.out.with_suffix(".errors.csv")
    try:
        for path in (args.ids, args.out, errors_path):
            file_format(path)
    except BatchInputError as exc:
        return fail(str(exc), EXIT_USAGE)
    from churn.control.models import ModelNotFound, load_production
    from churn.feature_store.predict import predict_ids as score_ids

    try:
        model = load_production(args.model)
        report = score_ids(
            args.ids, args.out, errors_path, model.probabilities, model.threshold, as_of,
            _settings(), block=args.chunk_rows,
        )  # fmt: skip
    except ModelNotFound as exc:
        return fail(str(exc))
    except _store_errors() as exc:
        return fail(str(exc))
    print(
        f"scored {report.scored} of {report.ids} customer IDs as of {as_of:%Y-%m-%dT%H:%M:%SZ} "
        f"with {model.describe()} -> {args.out}",
        file=sys.stderr,
    )
    if report.unknown:
        shown = ", ".join(report.shown or [])
        print(f"{report.unknown} ID(s) unknown at that time, not scored (all in {errors_path}): "
              f"{shown}", file=sys.stderr)  # fmt: skip
        return EXIT_FAILURE
    return EXIT_OK
