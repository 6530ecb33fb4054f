"""The issue's "Done when", end to end: `scripts/lifecycle_demo.py` (what `make lifecycle-demo`
runs) in its own isolated stores under tmp_path, checked step by step from its JSON summary.

Train v1 and serve it; train v2 and shadow it; replay traffic and outcomes (status shows both
arms); promote v2 under load (answers v2 within 30 s, no failed request, no restart); degraded
outcomes for v2 roll back automatically (answers v1 again); the audit lists every step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from churn.db.audit import default_actor
from tests.fixtures import background

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(2400)]
REPO = Path(__file__).resolve().parents[2]


@background.scenario("lifecycle-demo")
def _demo(workdir: Path) -> Callable[[], subprocess.CompletedProcess[str]]:
    argv = [sys.executable, "scripts/lifecycle_demo.py", "--workdir", str(workdir), "--json"]
    env = dict(os.environ)
    return lambda: background.run(argv, cwd=REPO, env=env, timeout=2200)


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """The demo's JSON summary; the demo started with the session (tests/fixtures/background.py)."""
    done = background.result("lifecycle-demo", timeout_s=2300)
    workdir = Path(done.args[done.args.index("--workdir") + 1])
    commands = workdir / "commands.log"
    detail = commands.read_text()[-4000:] if commands.exists() else ""
    assert done.returncode == 0, f"{done.stderr[-4000:]}\n{detail}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_v1_is_served_then_v2_is_shadowed(summary: dict[str, Any]) -> None:
    v1, v2 = summary["v1"], summary["v2"]
    assert v1 != v2
    assert summary["served_at_start"] == v1
    assert summary["replay_1_versions"] == {v1: 400}  # shadow: the champion answers everyone


def test_experiment_status_shows_both_arms(summary: dict[str, Any]) -> None:
    status = summary["experiment_status"]
    assert status["state"]["experiment"] == "shadow"
    arms = {(a["arm"], a["model_version"], a["served"]): a["predictions"] for a in status["arms"]}
    assert arms[("champion", summary["v1"], True)] >= 400
    assert arms[("challenger", summary["v2"], False)] >= 400
    assert status["agreement"]["pairs"] >= 400
    assert 0.0 <= status["agreement"]["decision_agreement"] <= 1.0


def test_promotion_switches_the_running_service_under_load(summary: dict[str, Any]) -> None:
    load = summary["load_during_promotion"]
    assert load["failed"] == 0 and load["requests"] > 50
    assert set(load["versions"]) <= {summary["v1"], summary["v2"]}
    assert summary["seconds_to_v2"] < 30
    assert summary["replay_2_versions"] == {summary["v2"]: 800}
    assert summary["service_restarts"] == 0


def test_degraded_outcomes_roll_back_automatically(summary: dict[str, Any]) -> None:
    rollback = summary["rollback"]
    assert rollback["performed"] is True, rollback
    assert (rollback["from_version"], rollback["to_version"]) == (summary["v2"], summary["v1"])
    assert summary["seconds_to_v1"] < 30


def test_the_audit_lists_every_step_with_its_actor(summary: dict[str, Any]) -> None:
    v1, v2, me = summary["v1"], summary["v2"], default_actor()
    oldest_first = list(reversed(summary["audit"]))
    changes = [(e["action"], e["actor"], e["to_version"]) for e in oldest_first]
    lifecycle = {"promote", "rollback", "experiment_start", "experiment_stop"}
    changes = [c for c in changes if c[0] in lifecycle]  # not switches, not the demo's token
    assert changes == [
        ("promote", me, v1),  # the training pipeline, as the OS user
        ("experiment_start", me, v2),
        ("promote", me, v2),  # churn model promote
        ("rollback", "monitoring", v1),  # the monitoring pipeline, by itself
    ]
    assert oldest_first[0]["source"] == "pipeline"
    rollbacks = [e for e in oldest_first if e["action"] == "rollback"]
    assert [e["source"] for e in rollbacks] == ["pipeline"]
    switches = [e for e in oldest_first if e["action"] == "switch"]
    assert {e["source"] for e in switches} == {"service"}
    assert {e["to_version"] for e in switches} >= {v1, v2}  # workers audited both ways
