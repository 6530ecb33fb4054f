"""Retraining on drift: the training pipeline on fresh data, linked to the monitoring run.

The training pipeline runs in its own process (`churn train`): a pipeline started
inside a running step would share that step's context, and a child process can be bounded by a
timeout. Its promotion rule then decides whether the new version replaces production.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - runs our own training pipeline with a fixed argv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, log_metadata, step

from churn.data import load_clean
from churn.generator import to_csv_text
from churn.monitoring.config import MonitoringConfig, parse_config
from churn.monitoring.export import drift_dir
from churn.schema import ID_COLUMN, RAW_COLUMNS
from churn.settings import REPO_ROOT
from steps.monitoring.evaluate import reports_dir
from steps.monitoring.production import REFERENCE_ARTIFACT, production_version


def fresh_training_data(reference: pd.DataFrame, labelled_path: Path | None) -> pd.DataFrame:
    """The reference (training split) plus newly labelled rows; a re-labelled id keeps the new."""
    frames = [reference[list(RAW_COLUMNS)]]
    if labelled_path is not None:
        frames.append(load_clean(labelled_path)[list(RAW_COLUMNS)])
    data = pd.concat(frames, ignore_index=True)
    return data.drop_duplicates(subset=[ID_COLUMN], keep="last").reset_index(drop=True)


def run_training(cfg: MonitoringConfig, data_path: Path) -> subprocess.CompletedProcess[str]:
    """`churn train --config <training config> --data <fresh CSV>`, in its own process."""
    churn = Path(sys.executable).with_name("churn")
    argv = [str(churn), "train", "--config", str(cfg.resolve_path(cfg.training_config))]
    argv += ["--data", str(data_path)]
    return subprocess.run(  # nosec B603 - fixed argv, no shell
        argv,
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=cfg.retrain_timeout_s,
        check=False,
    )


def training_run_name(stdout: str) -> str | None:
    """`churn train` ends with one JSON line naming the pipeline run."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                name = json.loads(line).get("pipeline_run")
            except json.JSONDecodeError:
                continue
            return str(name) if name else None
    return None


def promotion_metadata(run: Any) -> dict[str, Any]:
    """Whatever the training run recorded about promotion (keys mentioning 'promot' or 'stage')."""
    found: dict[str, Any] = {}
    sources = [run.run_metadata, *(s.run_metadata for s in run.steps.values())]
    for metadata in sources:
        for key, value in (metadata or {}).items():
            if "promot" in key.lower() or "stage" in key.lower():
                found[key] = value
    return found


def retrain(cfg: MonitoringConfig, decision: dict[str, Any], monitoring_run: str) -> dict[str, Any]:
    """Start the training pipeline when drift was detected and retraining is on."""
    from zenml.client import Client

    if not decision.get("drift_detected"):
        return {"started": False, "reason": "no drift detected"}
    if not cfg.retrain_on_drift:
        return {"started": False, "reason": "drift detected but retrain_on_drift is off"}
    labelled = cfg.resolve_path(cfg.labelled_data_path) if cfg.labelled_data_path else None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = drift_dir(reports_dir(cfg))
    data_path = folder / f"retrain_data_{stamp}.csv"
    version = production_version(cfg)
    reference = version.get_artifact(REFERENCE_ARTIFACT).load()
    data_path.write_text(to_csv_text(fresh_training_data(reference, labelled)))
    result: dict[str, Any] = {
        "started": True,
        "from_model_version": str(version.name),
        "data_path": str(data_path),
        "labelled_data_path": str(labelled) if labelled else None,
    }
    if labelled is None:
        result["warning"] = "no labelled_data_path: retraining on the reference data alone"
    try:
        proc = run_training(cfg, data_path)
    except subprocess.TimeoutExpired:
        result.update(succeeded=False, error=f"training did not finish in {cfg.retrain_timeout_s}s")
        return result
    result["succeeded"] = proc.returncode == 0
    if proc.returncode != 0:
        result["error"] = (proc.stderr or proc.stdout)[-2000:]
        return result
    run_name = training_run_name(proc.stdout)
    if run_name is None:
        result.update(succeeded=False, error="churn train printed no pipeline run name")
        return result
    run = Client().get_pipeline_run(run_name)
    result["training_run_name"] = run_name
    result["training_run_id"] = str(run.id)
    result["promotion"] = promotion_metadata(run)
    log_metadata(
        metadata={"started_by_monitoring_run": monitoring_run, "reason": "drift detected"},
        run_id_name_or_prefix=run.id,
    )
    return result


@step(enable_cache=False)
def retrain_on_drift(
    config: dict[str, Any], decision: dict[str, Any]
) -> Annotated[dict[str, Any], "retrain_result"]:
    cfg = parse_config(config)
    run = get_step_context().pipeline_run
    result = retrain(cfg, decision, str(run.id))
    log_metadata(metadata={"retrain": result})
    log_metadata(metadata={"retrain": result}, run_id_name_or_prefix=run.id)
    return result
