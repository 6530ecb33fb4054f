"""`churn monitor`: run the monitoring pipeline once (or every N), print the decision as JSON."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from churn.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail
from churn.paths import REPO_ROOT

DEFAULT_CONFIG = REPO_ROOT / "configs" / "monitoring.yaml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_S = 10.0
MAX_SLEEP_CHUNK_S = 5.0


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '1h', '1d' -> seconds (at least 10 s between runs)."""
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: use a number with s, m, h or d (e.g. 30m, 1h)"
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < MIN_INTERVAL_S:
        raise argparse.ArgumentTypeError(
            f"--every must be at least {MIN_INTERVAL_S:g}s, got {text}"
        )
    return seconds


def register(subparsers: argparse._SubParsersAction) -> None:
    mon = subparsers.add_parser(
        "monitor",
        help="compare live traffic with the production model's reference data (drift)",
        description="Run the monitoring pipeline and print its decision as one JSON line.",
    )
    mon.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="ZenML run config")
    mon.add_argument(
        "--every", type=parse_duration, metavar="DURATION", help="repeat every DURATION (e.g. 1h)"
    )
    mon.add_argument(
        "--max-runs", type=int, default=None, help="with --every: stop after this many runs"
    )
    mon.add_argument(
        "--summary-out",
        type=Path,
        metavar="FILE",
        help="also write the decision to FILE as JSON; with no production model yet, write "
        '{"drift_detected": false, "production_version": null} and exit 0 (a state, not an error)',
    )
    mon.set_defaults(func=cmd_monitor)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """ZenML logs to stdout; keep stdout for the one JSON line by pointing fd 1 at stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _output(run: Any, step_name: str, artifact: str) -> Any:
    """A step's typed artifact (churn/artifacts.py) as the JSON dict this command prints."""
    from churn.artifacts import Artifact

    outputs = run.steps[step_name].outputs[artifact]
    first = outputs[0] if isinstance(outputs, list) else outputs
    value = first.load()
    return value.as_json() if isinstance(value, Artifact) else value


def run_once(config_path: Path) -> dict[str, Any]:
    """One pipeline run; returns the decision summary (plus the retraining outcome)."""
    from pipelines.monitoring import monitoring_pipeline

    run = monitoring_pipeline.with_options(config_path=str(config_path))()
    if run is None:
        raise RuntimeError("the pipeline returned no run")
    from zenml.client import Client

    run = Client().get_pipeline_run(run.id)
    decision = _output(run, "detect_drift", "drift_decision")
    retrain = _output(run, "retrain_on_drift", "retrain_result")
    realized = {
        **_output(run, "evaluate_outcomes", "realized"),
        "rollback": _output(run, "auto_rollback", "rollback_result"),
    }
    purged = {}
    if "purge_expired" in run.steps:  # with CHURN_RETENTION_DAYS: what the purge deleted
        purged["purged"] = _output(run, "purge_expired", "purged")
    return {
        "production_version": decision.get("model_version"),
        "drift_detected": decision["drift_detected"],
        "drift_share": decision["drift_share"],
        "drifted_features": decision["drifted_features"],
        "n_rows": decision["n_rows"],
        # the rows in the live window; n_rows of them compared (a seeded sample when `sampled`)
        "window_rows": decision.get("window_rows"),
        "sampled": decision.get("sampled", False),
        "report_path": decision["report_path"],
        "reasons": decision["reasons"],
        "retrain": retrain,
        "realized": realized,
        "run_id": str(run.id),
        **purged,
    }


def _preflight(config_path: Path) -> tuple[str | None, bool]:
    """Check the run config and that a production model exists: (error or None, no model?)."""
    from zenml.config.pipeline_run_configuration import PipelineRunConfiguration

    from churn.monitoring.config import ConfigError, load_run_config
    from steps.monitoring.production import NoProductionModel, production_version

    try:
        cfg = load_run_config(config_path, PipelineRunConfiguration.model_fields)
        production_version(cfg)
    except ConfigError as exc:
        return str(exc), False
    except NoProductionModel as exc:
        return str(exc), True
    return None, False


def _write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")


def cmd_monitor(args: argparse.Namespace) -> int:
    if args.max_runs is not None and args.max_runs < 1:
        return fail(f"--max-runs must be at least 1, got {args.max_runs}", EXIT_USAGE)
    if not args.config.exists():
        return fail(f"no such run config: {args.config}", EXIT_USAGE)
    runs = 0
    while True:
        started = time.monotonic()
        with stdout_to_stderr():
            error, no_model = _preflight(args.config)
            summary: dict[str, Any] | None = None
            if no_model and args.summary_out is not None:
                summary = {"drift_detected": False, "production_version": None, "reasons": [error]}
                error = None
            elif error is None:
                try:
                    summary = run_once(args.config)
                except Exception as exc:  # a failed step: say which, without a traceback
                    error = f"monitoring run failed: {type(exc).__name__}: {exc}"
        if summary is not None:
            print(json.dumps(summary), flush=True)
            if args.summary_out is not None:
                _write_summary(args.summary_out, summary)
        else:
            print(f"error: {error}", file=sys.stderr, flush=True)
        runs += 1
        if args.every is None:
            return EXIT_OK if summary is not None else EXIT_FAILURE
        if args.max_runs is not None and runs >= args.max_runs:
            return EXIT_OK
        _sleep_until(started + args.every)


def _sleep_until(deadline: float) -> None:
    """Short sleeps, so Ctrl-C stops the loop at once."""
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, MAX_SLEEP_CHUNK_S))
