"""`make ci-local` in the suite: the workflow run four times on this machine (tests/ci_local/
scenario.py) against fresh staging servers, beside the rest of the suite
(tests/fixtures/background.py: it starts after the other scenarios and its tests run last).
Each run's job lines are what this module checks:
1. a first push trains, promotes version 1, builds it and deploys it to staging;
2. a code-only push with undrifted traffic skips training and ships version 1 again;
3. drifted traffic and data retrain; the candidate is compared with version 1 by the paired
   bootstrap on the team's server and the decision is recorded;
4. a forced retrain on a tenth of the data is worse: production and the deployed model stay.
The team's servers themselves are checked here too (they were a scenario of their own, which
trained twice more on a second pair of servers): both on loopback, every training recorded on
`churn-staging` in the ZenML server, the parent and nested candidate runs, proxied artifacts and
the `champion` alias in the MLflow server, and `make staging-down` stopping both.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from churn.db.audit import recent
from tests.ci_local.scenario import Scenario
from tests.fixtures import background
from tests.fixtures.http import answers
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3600)]


@background.scenario("ci-local", last=True)
def _ci_local(tmp: Path) -> Callable[[], Scenario]:
    scenario = Scenario(tmp, run=background.run)

    def work() -> Scenario:
        scenario.mlflow_port, scenario.zenml_port = free_port(), free_port()
        background.on_stop("ci-local", scenario.down)
        scenario.all_runs()
        return scenario

    return work


@pytest.fixture(scope="module")
def ci() -> Iterator[Scenario]:
    try:
        yield background.result("ci-local", timeout_s=3300)
    finally:
        background.stop_now("ci-local")


def jobs(ci: Scenario, run: str) -> dict[str, dict[str, Any]]:
    return {line["job"]: line for line in ci.outputs[run]}


def deployed_model(ci: Scenario, run: str) -> tuple[str, str]:
    """(model version annotation, image) of the staging Deployment after `run`."""
    service = ci.deployed[run]["objects"]["Deployment/churn-service"]
    return service["annotations"]["churn.io/model-version"], service["images"][0]


def test_every_run_prints_one_line_per_job_in_the_files_order(ci: Scenario) -> None:
    order = ["quality", "data-validation", "train", "image", "deploy-staging", "deploy-production"]
    for run, lines in ci.outputs.items():
        assert [line["job"] for line in lines] == order, run
        assert all(line["result"] != "failure" for line in lines), run
        quality = jobs(ci, run)["quality"]
        assert "not run here" in quality["notes"][0]
        # develop: no production deployment; no engine here: the image steps say they skipped
        assert jobs(ci, run)["deploy-production"]["result"] == "skipped"
        notes = " ".join(jobs(ci, run)["image"]["notes"])
        assert "make bento-image: skipped, no container engine" in notes
        assert "registry login to ghcr.io: skipped" in notes


def test_run_1_trains_promotes_and_deploys_version_1(ci: Scenario) -> None:
    run = jobs(ci, "1-first-model")
    assert run["data-validation"]["outputs"]["retrain"] == "true"
    assert run["data-validation"]["outputs"]["reason"] == "no production model yet"
    assert run["train"]["result"] == "success"
    train = run["train"]["outputs"]
    assert (train["version"], train["promoted"], train["production_version"]) == ("1", "true", "1")
    assert run["image"]["outputs"]["model_version"] == "1"
    assert run["deploy-staging"]["result"] == "success"
    version, image = deployed_model(ci, "1-first-model")
    assert version == "1" and image == run["image"]["outputs"]["image"]


def test_run_2_ships_code_without_retraining(ci: Scenario) -> None:
    run = jobs(ci, "2-code-only")
    assert run["data-validation"]["outputs"]["retrain"] == "false"
    assert run["data-validation"]["outputs"]["reason"] == "no drift in production version 1"
    assert run["train"]["result"] == "skipped"
    assert run["image"]["result"] == "success" and run["image"]["outputs"]["model_version"] == "1"
    version, image = deployed_model(ci, "2-code-only")
    assert version == "1"
    assert image != deployed_model(ci, "1-first-model")[1]  # the new commit's image


def test_run_3_retrains_on_drift_and_compares_with_version_1(ci: Scenario) -> None:
    run = jobs(ci, "3-drift")
    assert run["data-validation"]["outputs"]["retrain"] == "true"
    assert run["data-validation"]["outputs"]["reason"].startswith("drift detected")
    train = run["train"]["outputs"]
    assert train["version"] == "2" and train["compared_with"] == "1"
    assert train["paired_bootstrap"] == "true"
    expected = "2" if train["promoted"] == "true" else "1"
    assert train["production_version"] == expected
    assert run["image"]["outputs"]["model_version"] == expected
    assert deployed_model(ci, "3-drift")[0] == expected


def test_run_4_a_worse_candidate_changes_nothing(ci: Scenario) -> None:
    run = jobs(ci, "4-worse")
    before = jobs(ci, "3-drift")["train"]["outputs"]["production_version"]
    assert run["data-validation"]["outputs"]["reason"].startswith("forced by workflow_dispatch")
    train = run["train"]["outputs"]
    assert (train["version"], train["promoted"]) == ("3", "false")
    assert train["production_version"] == before
    assert run["image"]["outputs"]["model_version"] == before
    assert deployed_model(ci, "4-worse")[0] == before


def test_audit_rows_name_the_workflow_run_in_the_deployments_database(ci: Scenario) -> None:
    promotions = [e for e in recent(url=ci.database, actions=["promote"])]
    promoted = {"101": "1"}
    if jobs(ci, "3-drift")["train"]["outputs"]["promoted"] == "true":
        promoted["103"] = "2"
    assert {e.actor: e.to_version for e in promotions} == {
        f"github:{k}": v for k, v in promoted.items()
    }


def test_the_cluster_gets_the_server_and_database_ci_used(ci: Scenario) -> None:
    secret = ci.deployed["4-worse"]["secrets"]["churn-secrets"]
    assert secret["zenml-store-url"] == f"http://127.0.0.1:{ci.zenml_port}"
    assert secret["prediction-db-url"] == ci.database
    assert secret["zenml-api-key"]


TRAININGS = 3  # runs 1, 3 and 4 train; run 2 ships code only


def test_the_teams_servers_run_on_loopback(ci: Scenario) -> None:
    assert answers(f"http://127.0.0.1:{ci.mlflow_port}/health", timeout_s=5)
    assert answers(f"http://127.0.0.1:{ci.zenml_port}/health", timeout_s=5)
    for name in ("mlflow", "zenml"):
        pid = int((ci.staging_dir / f"{name}.pid").read_text())
        os.kill(pid, 0)  # raises when the recorded process is not running


def test_the_zenml_server_recorded_every_training_on_the_staging_stack(ci: Scenario) -> None:
    code = (
        "import json\n"
        "from zenml.client import Client\n"
        "c = Client()\n"
        "runs = c.list_pipeline_runs(sort_by='desc:created', size=50, hydrate=True)\n"
        "print('RESULT=' + json.dumps({\n"
        "  'store_url': c.zen_store.url,\n"
        "  'runs': [{'pipeline': r.pipeline.name if r.pipeline else None,\n"
        "            'status': str(r.status.value), 'stack': r.stack.name if r.stack else None,\n"
        "            'steps': sorted(r.steps)} for r in runs.items],\n"
        "}))\n"
    )
    proc = ci.run([sys.executable, "-c", code], cwd=ci.root, env=ci.env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")][-1]
    found = json.loads(line.removeprefix("RESULT="))
    assert found["store_url"].rstrip("/") == f"http://127.0.0.1:{ci.zenml_port}", found
    trainings = [r for r in found["runs"] if r["pipeline"] == "training_pipeline"]
    assert len(trainings) == TRAININGS, found["runs"]
    for run in trainings:
        assert (run["status"], run["stack"]) == ("completed", "churn-staging"), run
        assert {"ingest", "validate", "split", "evaluate", "promote", "package"} <= set(
            run["steps"]
        )


def test_the_mlflow_server_holds_parent_runs_nested_candidates_and_champion(
    ci: Scenario,
) -> None:
    api = f"http://127.0.0.1:{ci.mlflow_port}/api/2.0/mlflow"

    def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = requests.request(method, f"{api}/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return dict(response.json())

    params = {"experiment_name": "telco_churn"}
    experiment = call("GET", "experiments/get-by-name", params=params)["experiment"]
    assert experiment["artifact_location"].startswith("mlflow-artifacts:"), experiment
    search = {"experiment_ids": [experiment["experiment_id"]], "max_results": 1000}
    runs = call("POST", "runs/search", json=search)["runs"]
    tags = [{t["key"]: t["value"] for t in r["data"].get("tags", [])} for r in runs]
    parents = [r for r, t in zip(runs, tags, strict=True) if "mlflow.parentRunId" not in t]
    nested = [t for t in tags if "mlflow.parentRunId" in t]
    assert len(parents) == TRAININGS, [t.get("mlflow.runName") for t in tags]
    parent_ids = {p["info"]["run_id"] for p in parents}
    assert len(nested) >= 3 * TRAININGS and {t["mlflow.parentRunId"] for t in nested} == parent_ids
    metrics = {m["key"] for p in parents for m in p["data"].get("metrics", [])}
    assert any("roc_auc" in key for key in metrics), metrics
    params = {"name": "telco_churn", "alias": "champion"}
    champion = call("GET", "registered-models/alias", params=params)["model_version"]
    assert champion["status"] == "READY" and "champion" in champion["aliases"]
    # artifacts went through the server's proxy into its artifact root
    assert any((ci.staging_dir / "mlartifacts" / experiment["experiment_id"]).rglob("*"))


def test_staging_down_stops_both_servers(ci: Scenario) -> None:
    """Last in the module: the fixture's own stop then finds nothing running."""
    pids = [int((ci.staging_dir / f"{n}.pid").read_text()) for n in ("mlflow", "zenml")]
    down = ci.down()
    assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-2000:]
    assert not answers(f"http://127.0.0.1:{ci.mlflow_port}/health", timeout_s=5)
    assert not answers(f"http://127.0.0.1:{ci.zenml_port}/health", timeout_s=5)
    assert not any((ci.staging_dir / f"{n}.pid").exists() for n in ("mlflow", "zenml"))
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
