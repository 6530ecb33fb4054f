"""`churn stack apply ENV` and `churn stack check ENV`: ZenML stacks from `stacks/<ENV>.yaml`.

The work is in `churn.stacks` (spec, apply, check). This module is imported by the `churn` console
script for every command, so it must stay cheap: zenml (and churn.settings) are imported only
inside the command functions.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from churn.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail
from churn.paths import REPO_ROOT
from churn.stacks.spec import STACKS_DIR, StackFileError, load_stack


def _quiet_zenml() -> None:
    os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    os.environ.setdefault("ZENML_AUTO_OPEN_DASHBOARD", "false")


def cmd_apply(args: argparse.Namespace) -> int:
    from churn.stacks.apply import apply_stack, ensure_repository
    from churn.stacks.check import check_components
    from churn.stacks.report import Report

    try:
        spec, _ = load_stack(args.env, Path(args.stacks_dir))
    except StackFileError as exc:
        return fail(str(exc))
    _quiet_zenml()
    from zenml.client import Client

    precheck = Report()
    if not check_components(spec, precheck, verbose=False):
        # the summary of the problems printed above, on stdout with them
        print(f"error: stack '{spec.name}' not applied; see `churn stack check {args.env}`")
        return EXIT_FAILURE
    root = Path(args.repo_root).resolve()
    if ensure_repository(root):
        print(f"initialised ZenML repository at {root}")
    report = Report()
    try:
        changed = apply_stack(Client(root=root), spec, report)
    except StackFileError as exc:
        return fail(str(exc))
    except Exception as exc:  # ZenML store / validation errors: one clear line, exit 1
        return fail(f"applying stack '{spec.name}' failed: {type(exc).__name__}: {exc}")
    if changed:
        print(f"stack '{spec.name}' applied and active")
    else:
        print(f"stack '{spec.name}' is up to date and active: nothing changed")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from churn.stacks.check import check_stack, kubeconfig_path, use_kubeconfig
    from churn.stacks.report import Report

    try:
        spec, missing_env = load_stack(args.env, Path(args.stacks_dir), allow_missing_env=True)
    except StackFileError as exc:
        return fail(str(exc))
    _quiet_zenml()
    if args.kubeconfig:
        kubeconfig = Path(args.kubeconfig)
        if not kubeconfig.is_file():
            return fail(f"kubeconfig {kubeconfig} does not exist", EXIT_USAGE)
        use_kubeconfig(kubeconfig)
    report = Report()
    check_stack(
        spec,
        missing_env,
        report,
        secrets=not args.no_secrets,
        kubeconfig=kubeconfig_path(args.kubeconfig),
    )
    if report.problems:
        print(f"stack '{spec.name}': {len(report.problems)} problem(s)")
        return EXIT_FAILURE
    print(f"stack '{spec.name}': OK")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `churn stack apply|check ENV` to the `churn` command line."""
    stack = subparsers.add_parser("stack", help="ZenML stacks per environment (stacks/*.yaml)")
    sub = stack.add_subparsers(dest="stack_command", required=True)

    apply_p = sub.add_parser("apply", help="create or update the stack ENV and activate it")
    apply_p.add_argument("env", help="stack file name: local, staging, kubernetes")
    apply_p.add_argument(
        "--repo-root",
        default=os.environ.get("ZENML_REPOSITORY_PATH") or str(REPO_ROOT),
        help="where `.zen/` lives (default: $ZENML_REPOSITORY_PATH, else the checkout)",
    )
    apply_p.add_argument("--stacks-dir", default=str(STACKS_DIR), help=argparse.SUPPRESS)
    apply_p.set_defaults(func=cmd_apply)

    check_p = sub.add_parser("check", help="validate the stack ENV offline, list what is missing")
    check_p.add_argument("env", help="stack file name: local, staging, kubernetes")
    check_p.add_argument("--kubeconfig", help="kubeconfig for Kubernetes components")
    check_p.add_argument(
        "--no-secrets",
        action="store_true",
        help="do not contact the ZenML store (secret lookups, store note)",
    )
    check_p.add_argument("--stacks-dir", default=str(STACKS_DIR), help=argparse.SUPPRESS)
    check_p.set_defaults(func=cmd_check)


def main(argv: list[str] | None = None) -> int:
    """`churn stack ARGS...` in this process (tests, fixtures): the one `churn` parser."""
    from churn.cli import main as churn_main

    return churn_main(["stack", *(sys.argv[1:] if argv is None else argv)])
