"""`churn generate`, `churn validate` and `churn predict`: files of any size, in chunks.

`predict` and `validate` stream (churn/batch/, docs/scale.md): memory holds one chunk, output is
written to a temporary name and renamed when complete, a progress bar shows on a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from churn.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail

if TYPE_CHECKING:
    from churn.batch.model import ScoringModel


def register(subparsers: argparse._SubParsersAction) -> None:
    gen = subparsers.add_parser("generate", help="write synthetic customers in the Telco schema")
    gen.add_argument("--rows", type=int, default=7043, help="number of customers (default 7043)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    gen.add_argument("--drift", default="none", help="drift scenario (see --list-drifts)")
    gen.add_argument("--out", type=Path, help="output CSV (default: standard output)")
    gen.add_argument("--list-drifts", action="store_true", help="list the drift scenarios and exit")
    gen.set_defaults(func=cmd_generate)

    val = subparsers.add_parser("validate", help="check a CSV or Parquet file against the schema")
    val.add_argument("path", type=Path)
    val.add_argument("--no-target", action="store_true", help="the file has no Churn column")
    val.add_argument("--json", action="store_true", help="print the result as JSON")
    _chunk_argument(val)
    val.set_defaults(func=cmd_validate)

    predict = subparsers.add_parser(
        "predict", help="score a CSV or Parquet file offline with the production model"
    )
    predict.add_argument(
        "path", type=Path, nargs="?", help="customers, .csv or .parquet (Churn optional)"
    )
    from churn.cli.features import add_ids_arguments

    add_ids_arguments(predict, "PATH")
    predict.add_argument("--out", type=Path, required=True, help="scored rows, .csv or .parquet")
    predict.add_argument(
        "--errors", type=Path, help="rejected rows (default: OUT with suffix .errors.csv)"
    )
    predict.add_argument(
        "--model", help="BentoML store tag (default: the production model the service serves)"
    )
    predict.add_argument("--engine", choices=("local", "spark"), default="local")
    predict.add_argument(
        "--master", default="local[*]", help="Spark master URL (--engine spark; docs/scale.md)"
    )
    predict.add_argument(
        "--partitions", type=int, help="Spark partitions to score in (default: Spark's split)"
    )
    _chunk_argument(predict)
    predict.set_defaults(func=cmd_predict)


def _chunk_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=100_000,
        help="rows read, checked and written at a time (memory; the result is the same)",
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from churn.batch.generate import CHUNK_ROWS, write_csv
    from churn.generator import DRIFTS, generate, to_csv_text

    if args.list_drifts:
        for drift in DRIFTS.values():
            print(f"{drift.name:16s} {drift.description}")
        return 0
    if args.rows < 1:
        return fail(f"--rows must be at least 1, got {args.rows}", EXIT_USAGE)
    if args.drift not in DRIFTS:
        return fail(f"unknown --drift {args.drift!r}; choose one of {sorted(DRIFTS)}", EXIT_USAGE)
    if args.rows <= CHUNK_ROWS:  # the common case: one frame, written at once
        text = to_csv_text(generate(args.rows, args.seed, args.drift))
        if args.out is None:
            sys.stdout.write(text)
        else:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_bytes(text.encode())
    elif args.out is None:
        write_csv(args.rows, args.seed, args.drift, sys.stdout)
    else:
        _stop_on_sigterm()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        temp = args.out.with_name(f".{args.out.name}.partial")
        try:
            with temp.open("w", newline="") as handle:
                write_csv(args.rows, args.seed, args.drift, handle)
            temp.replace(args.out)
        finally:
            temp.unlink(missing_ok=True)
    if args.out is not None:
        print(
            f"wrote {args.rows} customers to {args.out} (seed {args.seed}, drift {args.drift})",
            file=sys.stderr,
        )
    return 0


def _check_common(args: argparse.Namespace) -> int | None:
    if args.chunk_rows < 1:
        return fail(f"--chunk-rows must be at least 1, got {args.chunk_rows}", EXIT_USAGE)
    if not args.path.exists():
        return fail(f"no such file: {args.path}", EXIT_USAGE)
    return None


def cmd_validate(args: argparse.Namespace) -> int:
    if (code := _check_common(args)) is not None:
        return code
    from churn.batch.stream import validate_file

    _stop_on_sigterm()
    report = validate_file(args.path, require_target=not args.no_target, chunk_rows=args.chunk_rows)
    invalid = bool(report.violations)
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(args.path),
                    "valid": not invalid,
                    "rows": 0 if invalid else report.rows,
                    "violations": [v.__dict__ for v in report.violations],
                }
            )
        )
    elif invalid:
        print(f"{args.path}: INVALID, {len(report.violations)} problem(s):")
        for violation in report.violations:
            print(f"  - {violation}")
    else:
        rate = f", churn rate {report.churned / report.rows:.3f}" if not args.no_target else ""
        print(f"{args.path}: OK, {report.rows} rows{rate}")
    return EXIT_FAILURE if invalid else EXIT_OK


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the temporary output is removed (churn/batch/files.py)."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def cmd_predict(args: argparse.Namespace) -> int:
    if (args.path is None) == (args.ids is None):
        return fail("give either PATH (records) or --ids FILE (customer IDs)", EXIT_USAGE)
    if args.ids is not None:
        from churn.cli.features import predict_ids

        return predict_ids(args)
    if args.as_of is not None:
        return fail("--as-of goes with --ids", EXIT_USAGE)
    if (code := _check_common(args)) is not None:
        return code
    from churn.batch.files import BatchInputError, file_format

    errors_path = args.errors or args.out.with_suffix(".errors.csv")
    try:
        for path in (args.path, args.out, errors_path):
            file_format(path)
    except BatchInputError as exc:
        return fail(str(exc), EXIT_USAGE)
    if args.engine == "spark":
        from churn.batch.spark import SPARK_MISSING, spark_available

        if not spark_available():
            return fail(SPARK_MISSING)
    from churn.control.models import ModelNotFound, load_production

    _stop_on_sigterm()
    try:
        model = load_production(args.model)
    except ModelNotFound as exc:
        return fail(str(exc))
    if args.engine == "spark":
        return _predict_spark(args, model)
    from churn.batch.stream import MAX_SHOWN, predict_file

    try:
        report = predict_file(
            args.path, args.out, errors_path, model.probabilities, model.threshold, args.chunk_rows
        )
    except BatchInputError as exc:
        return fail(str(exc))
    print(
        f"scored {report.accepted} of {report.rows} rows with {model.describe()} -> {args.out}",
        file=sys.stderr,
    )
    if report.rejected:
        print(
            f"{report.rejected} row(s) failed validation and were not scored "
            f"(all in {errors_path}; the first {min(report.rejected, MAX_SHOWN)} here):",
            file=sys.stderr,
        )
        for problem in report.shown:
            print(f"  - line {problem.line}: {problem.reason}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _predict_spark(args: argparse.Namespace, model: ScoringModel) -> int:
    from churn.batch.files import BatchInputError
    from churn.batch.spark import PROBLEMS, predict_with_spark

    try:
        scored, rejected = predict_with_spark(
            args.path, args.out, model, master=args.master, partitions=args.partitions
        )
    except BatchInputError as exc:
        return fail(str(exc))
    print(
        f"scored {scored} rows with {model.describe()} on Spark ({args.master}) -> {args.out}/",
        file=sys.stderr,
    )
    if rejected:
        print(
            f"{rejected} row(s) failed validation: in {args.out}/ with no score and the "
            f"reasons in `{PROBLEMS}`",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_OK
