"""`churn privacy export|erase|purge`: a customer's rows, their erasure, and retention.

The rules live in churn/control/privacy.py; this module parses, prints and maps errors to exit
codes (2 for a bad argument, 1 when the database fails, with nothing half-written).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from churn.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, command_group, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = command_group(
        subparsers, "privacy", "a customer's stored rows: export, erase; retention purge (audited)"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=None, help="SQLAlchemy URL (default: CHURN_PREDICTION_DB)")
    common.add_argument(
        "--actor", default=None, help="who asks, for the audit row (default: CHURN_AUDIT_ACTOR "
        "or the OS user)",
    )  # fmt: skip
    customer = argparse.ArgumentParser(add_help=False, parents=[common])
    customer.add_argument("customer_id", metavar="CUSTOMER_ID")
    export = sub.add_parser(
        "export", parents=[customer], help="print every stored row about a customer",
        description="Every row of every table that holds a customer key (docs/security.md), "
        "found through the keyed hash the stores write; audited (privacy_export).",
    )  # fmt: skip
    export.add_argument("--json", action="store_true", help="one JSON document")
    export.set_defaults(func=cmd_export)
    erase = sub.add_parser(
        "erase", parents=[customer], help="delete every stored row about a customer",
        description="One transaction: every table's rows and the audit row (privacy_erase), "
        "or nothing. An unknown customer deletes nothing and is still audited.",
    )  # fmt: skip
    erase.add_argument("--reason", required=True, help="why (the request's reference)")
    erase.set_defaults(func=cmd_erase)
    purge = sub.add_parser(
        "purge", parents=[common], help="delete prediction-log rows and outcomes older than N days",
        description="In batches of 10,000 rows per transaction; one audit row (privacy_purge).",
    )  # fmt: skip
    purge.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    purge.set_defaults(func=cmd_purge)


def _error(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _open(url: str | None) -> Any:
    """The project database, migrated; None after a one-line error naming why it cannot be."""
    import sqlalchemy as sa

    from churn.db.migrate import DatabaseLocationError
    from churn.db.outcomes import engine_for

    try:
        return engine_for(url)
    except (sa.exc.SQLAlchemyError, DatabaseLocationError) as exc:
        fail(f"cannot open the project database: {_error(exc)}")
        return None


def _request(args: argparse.Namespace) -> Any:
    from churn.control.privacy import Request
    from churn.db.audit import default_actor
    from churn.settings import get_settings

    actor = default_actor() if args.actor is None else args.actor
    return Request(args.customer_id, actor, get_settings().customer_id_key)


def _print_rows(engine: Any, request: Any, as_json: bool) -> dict[str, int]:
    """Stream the rows to stdout (a JSON document, or one line per row); the counts."""
    from churn.control.privacy import CUSTOMER_TABLES, rows_of

    out = sys.stdout
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        if as_json:
            head = {"customer_id": request.customer_id, "customer_key": request.subject}
            out.write(json.dumps(head)[:-1] + ', "tables": {')
        for t, (table, column) in enumerate(CUSTOMER_TABLES):
            counts[table.name] = 0
            if as_json:
                out.write(f"{', ' if t else ''}{json.dumps(table.name)}: [")
            for row in rows_of(conn, table, column, request.keys):
                if as_json:
                    out.write((", " if counts[table.name] else "") + json.dumps(row))
                else:
                    out.write(f"{table.name}\t{json.dumps(row)}\n")
                counts[table.name] += 1
            if as_json:
                out.write("]")
    if as_json:
        out.write(f'}}, "counts": {json.dumps(counts)}}}\n')
    return counts


def _on_database(
    url: str | None, work: Callable[[Any], dict[str, int]], failed: str
) -> dict[str, int] | None:
    """`work(engine)` on the project database (disposed after): its counts, or None after a
    one-line error when the database cannot be opened or fails (`failed`: the line, `{}` the
    database's error)."""
    import sqlalchemy as sa

    if (engine := _open(url)) is None:
        return None
    try:
        return work(engine)
    except sa.exc.SQLAlchemyError as exc:
        fail(failed.format(_error(exc)))
        return None
    finally:
        engine.dispose()


def cmd_export(args: argparse.Namespace) -> int:
    from churn.control.privacy import PrivacyError, counts_text, record_export

    try:
        request = _request(args)
    except PrivacyError as exc:
        return fail(str(exc), EXIT_USAGE)

    def export(engine: Any) -> dict[str, int]:
        counts = _print_rows(engine, request, args.json)
        record_export(engine, request, counts)
        return counts

    if (counts := _on_database(args.db, export, "export failed: {}")) is None:
        return EXIT_FAILURE
    print(f"exported {sum(counts.values())} row(s): {counts_text(counts)}", file=sys.stderr)
    return EXIT_OK


def cmd_erase(args: argparse.Namespace) -> int:
    from churn.control.privacy import PrivacyError, check_text, counts_text, erase

    try:
        request = _request(args)
        check_text("--reason", args.reason, 2000)
    except PrivacyError as exc:
        return fail(str(exc), EXIT_USAGE)
    counts = _on_database(
        args.db,
        lambda engine: erase(engine, request, args.reason),
        "erase failed, nothing deleted: {}",
    )
    if counts is None:
        return EXIT_FAILURE
    total = sum(counts.values())
    print(f"erased {total} row(s) about customer {request.subject}: {counts_text(counts)}")
    if not total:
        print("no stored row held this customer; the request is audited", file=sys.stderr)
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    from churn.control.privacy import PrivacyError, check_days, check_text, counts_text, purge
    from churn.db.audit import default_actor

    actor = default_actor() if args.actor is None else args.actor
    try:
        check_days(args.older_than)
        check_text("--actor", actor, 128)
    except PrivacyError as exc:
        return fail(str(exc), EXIT_USAGE)
    counts = _on_database(
        args.db,
        lambda engine: purge(engine, args.older_than, actor),
        "purge stopped: {} (see `churn audit --action privacy_purge`)",
    )
    if counts is None:
        return EXIT_FAILURE
    print(f"purged rows older than {args.older_than} days: {counts_text(counts)}")
    return EXIT_OK
