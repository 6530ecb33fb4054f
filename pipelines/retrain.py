"""Retraining on drift: the training pipeline on fresh data, linked to the monitoring run.

The step runs the training pipeline (`pipelines.training.run_training`) in a child process, with
its own ZenML client, stack and step context (`run_training_in_child`). It lives with the
pipelines, not in `steps/`, because it starts one: a step never imports a pipeline (the import
contracts). Waiting is bounded by `retrain_timeout_s`; a run still going then is reported as not
finished, and the process waits for it before it exits, so a run is never cut halfway. The run
is named up front, and its `promote` step's outputs (`promoted`, `model_card`) are read back
through the ZenML client into the typed `RetrainResult`.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import yaml
from zenml import get_step_context, log_metadata, step

from churn.artifacts import RetrainResult
from churn.config_files import ConfigError, read_yaml_mapping
from churn.control.registry import MODEL_CARD_ARTIFACT, PROMOTE_STEP, PROMOTED_ARTIFACT
from churn.data import load_clean
from churn.generator import to_csv_text
from churn.model_card import ModelCard
from churn.monitoring.config import MonitoringConfig, parse_config
from churn.monitoring.decision import DriftDecision
from churn.monitoring.export import drift_dir
from churn.schema import ID_COLUMN, RAW_COLUMNS
from steps.monitoring.evaluate import reports_dir
from steps.monitoring.production import REFERENCE_ARTIFACT, production_version


def fresh_training_data(reference: pd.DataFrame, labelled_path: Path | None) -> pd.DataFrame:
    """The reference (training split) plus newly labelled rows; a re-labelled id keeps the new."""
    frames = [reference[list(RAW_COLUMNS)]]
    if labelled_path is not None:
        frames.append(load_clean(labelled_path)[list(RAW_COLUMNS)])
    data = pd.concat(frames, ignore_index=True)
    return data.drop_duplicates(subset=[ID_COLUMN], keep="last").reset_index(drop=True)


def retrain_config(cfg: MonitoringConfig, folder: Path, run_name: str, stamp: str) -> Path:
    """The configured training config with `run_name` set: the run is then found by name, not
    by parsing what `churn train` prints."""
    source = cfg.resolve_path(cfg.training_config)
    config = read_yaml_mapping(source)
    path = folder / f"retrain_config_{stamp}.yaml"
    path.write_text(yaml.safe_dump({**config, "run_name": run_name}, sort_keys=False))
    return path


_CHILD = "import sys; from pipelines.training import run_training; run_training(*sys.argv[1:3])"
"""The child's program: the training pipeline's run, exactly as `churn train` starts it."""


def run_training_in_child(cfg: MonitoringConfig, config_path: Path, data_path: Path) -> None:
    """The training pipeline's run in a child Python process; `TimeoutError` after
    `retrain_timeout_s`, or `RuntimeError` with the end of its output when it failed.

    Why a process: ZenML caches one Stack (and its orchestrator, which keeps the run it executes)
    per process, so a second run started inside the monitoring step's process would share them
    (zenml 0.98 then ended the monitoring run with `assert self._active_snapshot`). A child has
    its own, through ZenML's public API only. A child still running at the timeout is left to
    finish (this process waits for it before it exits), so a run is never cut halfway."""
    log_path = config_path.with_suffix(".log")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with log_path.open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(config_path), str(data_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        code = child.wait(cfg.retrain_timeout_s)
    except subprocess.TimeoutExpired:
        atexit.register(child.wait)
        raise TimeoutError(f"training did not finish in {cfg.retrain_timeout_s}s") from None
    if code != 0:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"training run failed (exit {code}; log {log_path}): {tail}")


def _output(run: Any, step_name: str, name: str) -> Any:
    outputs = run.steps[step_name].outputs[name]
    return (outputs[0] if isinstance(outputs, list) else outputs).load()


def promote_outputs(run: Any) -> tuple[bool, ModelCard]:
    """The training run's `promote` step outputs: whether it promoted, and the model card."""
    promoted = _output(run, PROMOTE_STEP, PROMOTED_ARTIFACT)
    card = _output(run, PROMOTE_STEP, MODEL_CARD_ARTIFACT)
    if not isinstance(promoted, bool) or not isinstance(card, ModelCard):
        raise TypeError(
            f"run {run.name}: step {PROMOTE_STEP!r} gave {type(promoted).__name__} and "
            f"{type(card).__name__}, not bool and ModelCard"
        )
    return promoted, card


def retrain(cfg: MonitoringConfig, decision: DriftDecision, monitoring_run: str) -> RetrainResult:
    """Start the training pipeline when drift was detected and retraining is on."""
    from zenml.client import Client

    if not decision.drift_detected:
        return RetrainResult(started=False, reason="no drift detected")
    if not cfg.retrain_on_drift:
        return RetrainResult(started=False, reason="drift detected but retrain_on_drift is off")
    labelled = cfg.resolve_path(cfg.labelled_data_path) if cfg.labelled_data_path else None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S_%f")
    folder = drift_dir(reports_dir(cfg))
    data_path = folder / f"retrain_data_{stamp}.csv"
    version = production_version(cfg)
    reference = version.get_artifact(REFERENCE_ARTIFACT).load()
    data_path.write_text(to_csv_text(fresh_training_data(reference, labelled)))
    run_name = f"training_pipeline-retrain-{stamp}-{monitoring_run[:8]}"
    started = RetrainResult(
        started=True,
        from_model_version=str(version.name),
        data_path=str(data_path),
        labelled_data_path=str(labelled) if labelled else None,
        warning=None
        if labelled
        else "no labelled_data_path: retraining on the reference data alone",
        training_run_name=run_name,
    )
    try:
        config_path = retrain_config(cfg, folder, run_name, stamp)
    except ConfigError as exc:
        data_path.unlink(missing_ok=True)
        return started.replaced(succeeded=False, error=str(exc))
    try:
        run_training_in_child(cfg, config_path, data_path)
    except Exception as exc:  # TimeoutError, a bad config, a failed step: said in the result
        return started.replaced(succeeded=False, error=str(exc)[-2000:])
    finally:
        # training rows with labels and raw customer IDs: the run's ZenML artifacts keep what it
        # trained on; this copy on the reports volume is outside erase and purge, so it goes
        data_path.unlink(missing_ok=True)
    run = Client().get_pipeline_run(run_name)
    promoted, card = promote_outputs(run)
    log_metadata(
        metadata={"started_by_monitoring_run": monitoring_run, "reason": "drift detected"},
        run_id_name_or_prefix=run.id,
    )
    return started.replaced(
        succeeded=True, training_run_id=str(run.id), promoted=promoted, model_card=card
    )


@step(enable_cache=False)
def retrain_on_drift(
    config: dict[str, Any], decision: DriftDecision
) -> Annotated[RetrainResult, "retrain_result"]:
    cfg = parse_config(config)
    run = get_step_context().pipeline_run
    result = retrain(cfg, decision, str(run.id))
    log_metadata(metadata={"retrain": result.as_json()})
    log_metadata(metadata={"retrain": result.as_json()}, run_id_name_or_prefix=run.id)
    return result
