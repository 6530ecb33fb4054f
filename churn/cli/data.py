"""`churn generate` and `churn validate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from churn.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    gen = subparsers.add_parser("generate", help="write synthetic customers in the Telco schema")
    gen.add_argument("--rows", type=int, default=7043, help="number of customers (default 7043)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    gen.add_argument("--drift", default="none", help="drift scenario (see --list-drifts)")
    gen.add_argument("--out", type=Path, help="output CSV (default: standard output)")
    gen.add_argument("--list-drifts", action="store_true", help="list the drift scenarios and exit")
    gen.set_defaults(func=cmd_generate)

    val = subparsers.add_parser("validate", help="check a CSV against the Telco schema")
    val.add_argument("path", type=Path)
    val.add_argument("--no-target", action="store_true", help="the file has no Churn column")
    val.add_argument("--json", action="store_true", help="print the result as JSON")
    val.set_defaults(func=cmd_validate)


def cmd_generate(args: argparse.Namespace) -> int:
    from churn.generator import DRIFTS, generate, to_csv_text

    if args.list_drifts:
        for drift in DRIFTS.values():
            print(f"{drift.name:16s} {drift.description}")
        return 0
    if args.rows < 1:
        return fail(f"--rows must be at least 1, got {args.rows}", EXIT_USAGE)
    if args.drift not in DRIFTS:
        return fail(f"unknown --drift {args.drift!r}; choose one of {sorted(DRIFTS)}", EXIT_USAGE)
    text = to_csv_text(generate(args.rows, args.seed, args.drift))
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(text.encode())
        print(
            f"wrote {args.rows} customers to {args.out} (seed {args.seed}, drift {args.drift})",
            file=sys.stderr,
        )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from churn.data import check_file

    if not args.path.exists():
        return fail(f"no such file: {args.path}", EXIT_USAGE)
    result = check_file(args.path, require_target=not args.no_target)
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(args.path),
                    "valid": not result.violations,
                    "rows": 0 if result.violations else len(result.frame),
                    "violations": [v.__dict__ for v in result.violations],
                }
            )
        )
    elif result.violations:
        print(f"{args.path}: INVALID, {len(result.violations)} problem(s):")
        for violation in result.violations:
            print(f"  - {violation}")
    else:
        frame = result.frame
        rate = f", churn rate {frame['Churn'].mean():.3f}" if "Churn" in frame else ""
        print(f"{args.path}: OK, {len(frame)} rows{rate}")
    return EXIT_FAILURE if result.violations else EXIT_OK
