"""`churn outcomes import FILE.csv`: store observed outcomes beside the prediction log."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from churn.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, add_db_argument, command_group, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = command_group(
        subparsers, "outcomes", "observed outcomes (did the customer leave?) for realized metrics"
    )
    imp = sub.add_parser(
        "import",
        help="import a CSV of outcomes (customerID, Churn Yes/No, optional observed_at)",
        description="Validate every row first; nothing is stored when any row is bad. "
        "Re-importing the same customer and observed_at stores it once.",
    )
    imp.add_argument("file", type=Path, help="CSV with customerID, Churn and optional observed_at")
    add_db_argument(imp)
    imp.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        return fail(f"no such file: {args.file}", EXIT_USAGE)
    from churn.db.outcomes import engine_for, store
    from churn.outcomes import OutcomeInputError, read_csv

    try:
        items = read_csv(args.file)
    except OutcomeInputError as exc:
        return fail(f"{args.file}: nothing stored, {exc}", EXIT_FAILURE)
    except (UnicodeDecodeError, OSError) as exc:
        return fail(f"{args.file}: cannot read it as a UTF-8 CSV ({exc})", EXIT_FAILURE)
    print(f"validated {len(items)} outcome(s) from {args.file}; storing...", file=sys.stderr)
    engine = engine_for(args.db)
    try:
        result = store(engine, items, source="cli")
    finally:
        engine.dispose()
    summary = {"file": str(args.file), **result.as_dict()}
    print(
        f"stored {result.stored} new outcome(s), skipped {result.duplicates} already stored",
        file=sys.stderr,
    )
    print(json.dumps(summary))
    return EXIT_OK
