"""`churn train`, `churn model status|promote`, `churn rollback` (`churn predict`: cli/data.py).

ZenML, MLflow and BentoML are imported inside the handlers only (see churn/cli/__init__.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import Any

from churn.cli import EXIT_USAGE, command_group, fail
from churn.settings import REPO_ROOT

DEFAULT_CONFIG = Path("configs/training.yaml")


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="run the training pipeline (config checked first)")
    train.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="training run config")
    train.add_argument("--data", type=Path, help="training CSV (overrides the config's data_path)")
    train.set_defaults(func=cmd_train)

    model_sub = command_group(
        subparsers, "model", "the model versions (ZenML Model Control Plane)", metavar="SUBCOMMAND"
    )
    status = model_sub.add_parser("status", help="production version and latest versions as JSON")
    status.add_argument("--limit", type=int, default=10, help="how many latest versions to list")
    status.set_defaults(func=cmd_status)

    promote = model_sub.add_parser(
        "promote", help="put a chosen version in production by hand (quality floor still applies)"
    )
    promote.add_argument("version", help="ZenML model version name (e.g. 3)")
    promote.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    promote.add_argument("--actor", help="who (default: the OS user)")
    promote.add_argument(
        "--config",
        type=Path,
        default=REPO_ROOT / DEFAULT_CONFIG,
        help="run config whose quality_floor applies",
    )
    promote.set_defaults(func=cmd_promote)

    rollback = subparsers.add_parser("rollback", help="put the previous production version back")
    rollback.add_argument("--reason", default="rollback by hand", help="why (audit trail)")
    rollback.add_argument("--actor", help="who (default: the OS user)")
    rollback.set_defaults(func=cmd_rollback)


def cmd_train(args: argparse.Namespace) -> int:
    from churn.training.config import ConfigError, load_run_config

    try:
        load_run_config(args.config)  # fail fast, before importing ZenML
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    if args.data is not None and not args.data.exists():
        return fail(f"no such data file: {args.data}", EXIT_USAGE)
    from pipelines.training import TrainingFailed, run_training

    try:
        run = run_training(args.config, args.data)
    except (ConfigError, TrainingFailed) as exc:
        return fail(str(exc))
    print(json.dumps({"pipeline_run": run.name, "status": str(run.status)}, default=str))
    return 0


def _version_summary(version: Any) -> dict[str, Any]:
    meta = version.run_metadata
    return {
        "version": version.name,
        "number": version.number,
        "stage": str(getattr(version.stage, "value", version.stage)) if version.stage else None,
        "created": str(version.created),
        "model_type": meta.get("model_type"),
        "threshold": meta.get("threshold"),
        "test_metrics": meta.get("test_metrics"),
        "promotion": meta.get("promotion"),
        "mlflow_model_version": meta.get("mlflow_model_version"),
    }


def model_status(limit: int = 10) -> dict[str, Any]:
    from zenml.client import Client

    from churn.control.registry import production_version
    from churn.settings import get_settings

    name = get_settings().model_name
    production = production_version(name)
    versions: list[Any] = []
    with contextlib.suppress(KeyError):
        versions = list(Client().list_model_versions(model=name, sort_by="desc:number", size=limit))
    return {
        "model": name,
        "production": _version_summary(production) if production else None,
        "versions": [_version_summary(v) for v in versions],
    }


def cmd_status(args: argparse.Namespace) -> int:
    print(json.dumps(model_status(args.limit), indent=2, default=str))
    return 0


def _note_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the audit note of a promotion or rollback (--reason, --actor), if any."""
    if not args.reason.strip():
        return "--reason must not be empty"
    if args.actor is not None and not args.actor.strip():
        return "--actor must not be empty"
    return None


def cmd_promote(args: argparse.Namespace) -> int:
    from churn.training.config import ConfigError, load_run_config

    if (problem := _note_problem(args)) is not None:
        return fail(problem, EXIT_USAGE)
    try:
        floor = load_run_config(args.config).parameters.quality_floor
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    from churn.control.registry import ChangeFailed, PromotionError, promote_by_hand
    from churn.db.audit import default_actor

    try:
        result = promote_by_hand(
            args.version, args.reason.strip(), (args.actor or default_actor()).strip(), floor
        )
    except (PromotionError, ChangeFailed) as exc:
        return fail(str(exc))
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from churn.control.registry import ChangeFailed, RollbackError, rollback

    if (problem := _note_problem(args)) is not None:
        return fail(problem, EXIT_USAGE)
    try:
        result = rollback(reason=args.reason.strip(), actor=(args.actor or "").strip() or None)
    except (RollbackError, ChangeFailed) as exc:
        return fail(str(exc))
    print(json.dumps(result, indent=2, default=str))
    return 0
