"""`make ci-local` in the suite: the workflow run four times on this machine (tests/ci_local/
scenario.py) against fresh staging servers, beside the rest of the suite
(tests/fixtures/background.py: it starts after the other scenarios and its tests run last).
Each run's job lines are what this module checks:
1. a first push trains, promotes version 1, builds it and deploys it to staging;
2. a code-only push with undrifted traffic skips training and ships version 1 again;
3. drifted traffic and data retrain; the candidate is compared with version 1 by the paired
   bootstrap on the team's server and the decision is recorded;
4. a forced retrain on a tenth of the data is worse: production and the deployed model stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from churn.db.audit import recent
from tests.ci_local.scenario import Scenario
from tests.fixtures import background
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
