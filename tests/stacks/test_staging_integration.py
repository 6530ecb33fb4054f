"""The staging stack for real: `make stack-staging` starts an MLflow tracking server and a local
ZenML server on loopback, the training pipeline runs on `churn-staging` against both (once with
`churn train`, the `make train` path, and once with `zenml pipeline run ... -s churn-staging` while
another stack is active), and `make staging-down` stops them.

Everything lives in a temporary folder (ZenML global config, server databases, artifact roots,
BentoML store, a ZenML repository marker of its own) on free ports; the checkout's
`.zen/config.yaml` (its active stack) is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.fixtures import background
from tests.fixtures.http import answers
from tests.fixtures.ports import free_port
from tests.fixtures.training import default_data_path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FAST_CONFIG = REPO / "configs" / "training_fast.yaml"
MODEL = "telco_churn"

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1200)]


@dataclass
class Staging:
    dir: Path  # make's STAGING_DIR
    env: dict[str, str]
    mlflow_url: str
    zenml_url: str
    make_args: list[str]
    outputs: dict[str, subprocess.CompletedProcess[str]]

    def run(self, name: str, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        proc = background.run(argv, cwd=REPO, env=self.env, timeout=timeout)
        self.outputs[name] = proc
        return proc

    def down(self, name: str) -> subprocess.CompletedProcess[str]:
        """`make staging-down` (it stops whatever of the two servers is running)."""
        return self.run(
            name, ["make", "--no-print-directory", "staging-down", *self.make_args], 120
        )

    def mlflow(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = requests.request(method, f"{self.mlflow_url}/api/2.0/mlflow/{path}", **kwargs)
        response.raise_for_status()
        return dict(response.json())


def _report(proc: subprocess.CompletedProcess[str]) -> str:
    out, err = proc.stdout[-4000:], proc.stderr[-4000:]
    return f"exit {proc.returncode}\n--- stdout\n{out}\n--- stderr\n{err}"


@background.scenario("staging")
def _staging(tmp: Path) -> Callable[[], Staging]:
    """Reads the environment now; the returned work starts the servers and runs both trainings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "ZENML_", "MLFLOW_"))}
    env.update(
        ZENML_CONFIG_PATH=str(tmp / "zenml-config"),
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_AUTO_OPEN_DASHBOARD="false",
        BENTOML_HOME=str(tmp / "bentoml"),
        CHURN_PREDICTION_DB=f"sqlite:///{tmp / 'predictions.db'}",
        CHURN_REPORTS_DIR=str(tmp / "reports"),
        # The local tracking store: a staging run must never write to it.
        CHURN_MLFLOW_TRACKING_URI=f"sqlite:///{tmp / 'local-mlruns.db'}",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        # The checkout's `.zen/config.yaml` is the user's: this run gets its own repository
        # marker, and imports the source tree from the checkout.
        ZENML_REPOSITORY_PATH=str(tmp / "repo"),
        PYTHONPATH=str(REPO),
    )
    (tmp / "repo" / ".zen").mkdir(parents=True)
    data = default_data_path(tmp)
    # The README's command, on a stack named per run while the default stack is active.
    config = tmp / "training_fast.yaml"
    raw = yaml.safe_load(FAST_CONFIG.read_text())
    raw["parameters"]["data_path"] = str(data)
    config.write_text(yaml.safe_dump(raw))

    def work() -> Staging:
        mlflow_port, zenml_port = free_port(), free_port()  # now, not minutes before they are used
        make_args = [
            f"STAGING_DIR={tmp / 'run'}",
            f"STAGING_MLFLOW_PORT={mlflow_port}",
            f"STAGING_ZENML_PORT={zenml_port}",
        ]
        staging = Staging(
            dir=tmp / "run",
            env=env,
            mlflow_url=f"http://127.0.0.1:{mlflow_port}",
            zenml_url=f"http://127.0.0.1:{zenml_port}",
            make_args=make_args,
            outputs={},
        )
        if (
            shutil.which("make", path=env["PATH"]) is None
            or shutil.which("curl", path=env["PATH"]) is None
        ):
            raise RuntimeError(
                "make and curl are needed to start the staging servers (see .ci/run)"
            )
        background.on_stop("staging", lambda: staging.down("staging-down-finaliser"))
        up = staging.run(
            "stack-staging", ["make", "--no-print-directory", "stack-staging", *make_args], 600
        )
        assert up.returncode == 0, _report(up)
        train = staging.run(
            "train",
            [str(BIN / "churn"), "train", "--config", str(FAST_CONFIG), "--data", str(data)],
            900,
        )
        assert train.returncode == 0, _report(train)
        zenml = str(BIN / "zenml")
        switch = staging.run("stack-set-default", [zenml, "stack", "set", "default"], 120)
        assert switch.returncode == 0, _report(switch)
        cli_run = staging.run(
            "zenml-pipeline-run",
            [zenml, "pipeline", "run", "pipelines.training.training_pipeline",
             "-c", str(config), "-s", "churn-staging"],
            900,
        )  # fmt: skip
        assert cli_run.returncode == 0, _report(cli_run)
        return staging

    return work


@pytest.fixture(scope="module")
def staging() -> Iterator[Staging]:
    """The staging stack, set up beside the rest of the suite (tests/fixtures/background.py)."""
    try:
        yield background.result("staging", timeout_s=2400)
    finally:
        background.stop_now("staging")


def _zenml_query(staging: Staging) -> dict[str, Any]:
    """What the ZenML server recorded, read through a client of the same global config."""
    code = (
        "import json\n"
        "from zenml.client import Client\n"
        "c = Client()\n"
        "runs = c.list_pipeline_runs(sort_by='desc:created', size=5, hydrate=True)\n"
        "print('RESULT=' + json.dumps({\n"
        "  'store_type': str(c.zen_store.type.value),\n"
        "  'store_url': c.zen_store.url,\n"
        "  'active_stack': c.active_stack_model.name,\n"
        "  'runs': [{'pipeline': r.pipeline.name if r.pipeline else None,\n"
        "            'status': str(r.status.value), 'stack': r.stack.name if r.stack else None,\n"
        "            'steps': sorted(r.steps)} for r in runs.items],\n"
        "}))\n"
    )
    proc = staging.run("zenml-query", [sys.executable, "-c", code], 180)
    assert proc.returncode == 0, _report(proc)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")][-1]
    return dict(json.loads(line.removeprefix("RESULT=")))


def test_stack_staging_starts_both_servers_on_loopback(staging: Staging) -> None:
    out = staging.outputs["stack-staging"].stdout
    assert f"MLflow tracking server: {staging.mlflow_url}" in out
    assert f"ZenML server: {staging.zenml_url}" in out
    assert "activated stack 'churn-staging'" in out
    assert answers(f"{staging.mlflow_url}/health", timeout_s=5)
    assert answers(f"{staging.zenml_url}/health", timeout_s=5)
    for name in ("mlflow", "zenml"):
        pid = int((staging.dir / f"{name}.pid").read_text())
        os.kill(pid, 0)  # raises when the recorded process is not running


def test_pipeline_ran_on_the_staging_stack_in_the_zenml_server(staging: Staging) -> None:
    found = _zenml_query(staging)
    assert found["store_type"] == "rest", found
    assert found["store_url"].rstrip("/") == staging.zenml_url, found
    # `zenml pipeline run -s churn-staging` ran on the named stack, not on the active one.
    assert found["active_stack"] == "default"
    runs = found["runs"]
    assert len(runs) == 2, runs
    for run in runs:
        assert run["pipeline"] == "training_pipeline"
        assert run["status"] == "completed"
        assert run["stack"] == "churn-staging"
        assert {"ingest", "validate", "split", "evaluate", "promote", "package"} <= set(
            run["steps"]
        )
    artifacts = staging.dir / "zenml-artifacts"
    assert artifacts.is_dir() and any(artifacts.rglob("*")), "no artifact in the staging store"


def test_model_status_reads_production_from_the_server(staging: Staging) -> None:
    proc = staging.run("model-status", [str(BIN / "churn"), "model", "status"], 180)
    assert proc.returncode == 0, _report(proc)
    status = json.loads(proc.stdout)
    assert status["production"]["number"] == 1
    assert status["production"]["promotion"]["promoted"] is True
    assert status["production"]["test_metrics"]["roc_auc"] > 0.75
    # The second run (same data and seed) is the same model: kept in staging, production stays.
    assert [(v["number"], v["stage"]) for v in status["versions"]] == [
        (2, "staging"),
        (1, "production"),
    ]


def test_mlflow_server_holds_the_parent_run_nested_candidates_and_champion(
    staging: Staging,
) -> None:
    experiment = staging.mlflow(
        "GET", "experiments/get-by-name", params={"experiment_name": MODEL}
    )["experiment"]
    assert experiment["artifact_location"].startswith("mlflow-artifacts:"), experiment
    runs = staging.mlflow(
        "POST", "runs/search", json={"experiment_ids": [experiment["experiment_id"]]}
    )["runs"]
    tags = [{t["key"]: t["value"] for t in r["data"].get("tags", [])} for r in runs]
    parents = [r for r, t in zip(runs, tags, strict=True) if "mlflow.parentRunId" not in t]
    nested = [t for t in tags if "mlflow.parentRunId" in t]
    assert len(parents) == 2, [t.get("mlflow.runName") for t in tags]
    parent_ids = {p["info"]["run_id"] for p in parents}
    assert len(nested) >= 6 and {t["mlflow.parentRunId"] for t in nested} == parent_ids
    metrics = {m["key"] for p in parents for m in p["data"].get("metrics", [])}
    assert any("roc_auc" in key for key in metrics), metrics
    champion = staging.mlflow(
        "GET", "registered-models/alias", params={"name": MODEL, "alias": "champion"}
    )["model_version"]
    assert champion["status"] == "READY" and "champion" in champion["aliases"]
    # Artifacts went through the server's proxy into its artifact root, not a local mlruns/,
    # and the local tracking store was never touched.
    assert any((staging.dir / "mlartifacts" / experiment["experiment_id"]).rglob("*"))
    local_db = staging.env["CHURN_MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")
    assert not Path(local_db).exists(), "a staging run wrote to the local MLflow store"


def test_staging_down_stops_both_servers(staging: Staging) -> None:
    pids = [int((staging.dir / f"{n}.pid").read_text()) for n in ("mlflow", "zenml")]
    proc = staging.down("staging-down")
    assert proc.returncode == 0, _report(proc)
    assert not answers(f"{staging.mlflow_url}/health", timeout_s=5)
    assert not answers(f"{staging.zenml_url}/health", timeout_s=5)
    assert not (staging.dir / "mlflow.pid").exists() and not (staging.dir / "zenml.pid").exists()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
