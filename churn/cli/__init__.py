"""The `churn` console script.

Each command group lives in its own module exposing `register(subparsers)`; heavy frameworks (ZenML,
MLflow, BentoML) are imported inside the command handlers only, so `churn generate` and
`churn validate` start fast. Exit codes and error output are the same everywhere (`fail`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
"""Every command: 0 done, 1 the work failed (bad data, a failed run, a missing model), 2 the
command line is wrong (an argument, a file it names that does not exist, a broken run config)."""

COMMAND_MODULES = (
    "churn.cli.audit",
    "churn.cli.auth",
    "churn.cli.campaign",
    "churn.cli.data",
    "churn.cli.db",
    "churn.cli.events",
    "churn.cli.experiment",
    "churn.cli.features",
    "churn.cli.model",
    "churn.cli.monitor",
    "churn.cli.monitoring_auth",
    "churn.cli.outcomes",
    "churn.cli.privacy",
    "churn.cli.stack",
)


def fail(message: str, code: int = EXIT_FAILURE) -> int:
    """Print `error: message` on stderr and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


def command_group(
    subparsers: argparse._SubParsersAction, name: str, help: str, metavar: str = "ACTION"
) -> argparse._SubParsersAction:
    """`churn NAME ACTION ...`: the group's parser, and its actions (one is required; the chosen
    one lands in `NAME_command`)."""
    group = subparsers.add_parser(name, help=help)
    actions = group.add_subparsers(dest=f"{name}_command", metavar=metavar)
    actions.required = True
    return actions


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """`--db`: the commands that read or write the project database beside the prediction log."""
    parser.add_argument(
        "--db", default=None, help="SQLAlchemy URL (default: CHURN_PREDICTION_DB, the log's)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="churn", description="Telco churn MLOps platform: data, models, monitoring, stacks."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
