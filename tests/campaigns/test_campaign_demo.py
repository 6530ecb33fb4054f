"""`make campaign-demo` as a user runs it, on the session's production model and a temporary
project database: plan, simulated outcomes, import, report, learn, and the next plan."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from churn.paths import REPO_ROOT
from tests.fixtures.training import TrainedModel

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]


def test_make_campaign_demo_runs_end_to_end(trained_model: TrainedModel, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    env = {**os.environ, "CHURN_PREDICTION_DB": f"sqlite:///{tmp_path / 'project.db'}"}
    run = subprocess.run(
        ["make", "--no-print-directory", "campaign-demo", f"DEMO_DIR={demo}", "DEMO_NAME=demo"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    contacts = pd.read_csv(demo / "contacts.csv")
    assert len(contacts) == 4000 and set(contacts["arm"]) == {"treated", "control"}
    truth = json.loads((demo / "truth.json").read_text())
    report = json.loads((demo / "report.json").read_text())
    assert report["treated"]["outcomes"] + report["control"]["outcomes"] == truth["outcomes"]
    assert report["uplift_ci_low"] <= report["uplift"] <= report["uplift_ci_high"]
    print(
        f"demo: true uplift {truth['true_uplift']:+.4f}, reported {report['uplift']:+.4f} "
        f"[{report['uplift_ci_low']:+.4f}, {report['uplift_ci_high']:+.4f}]"
    )
    # offers backfire on fiber customers, whom value ranking favours; they work on DSL ones
    assert "ranking by predicted uplift beats ranking by risk" in run.stdout
    assert "the next plan may use --rank uplift --uplift-from demo" in run.stdout
    following = pd.read_csv(demo / "contacts_next.csv")
    assert following["predicted_uplift"].notna().all() and len(following) == 2000
    assert "planned campaign demo-next" in run.stderr
    # the second campaign is planned properly: after the first is closed, within the customers
    # the evidence covers, with its power figure
    assert "closed campaign demo" in run.stderr
    assert not set(following["customerID"]) - set(contacts["customerID"])
    assert "the smallest uplift this plan detects with 80% power" in run.stderr
    assert "the smallest uplift detected with 80% power at the 5% level" in run.stdout
