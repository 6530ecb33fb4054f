"""The local workflow runner's own rules: expressions, job and step conditions, outputs, the
mapped actions and the offline cluster steps, on small workflows run for real (bash, git, make,
kubectl kustomize), and the real workflow's gates read as GitHub reads them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci_local.cluster import Cluster, ClusterStepError, run_offline
from tests.ci_local.expressions import ExpressionError, condition, evaluate, substitute
from tests.ci_local.runner import REPO, Options, WorkflowError, read_pairs, run_workflow

WORKFLOW = REPO / ".github" / "workflows" / "ml-pipeline.yml"
CTX = {
    "github": {"event_name": "push", "ref": "refs/heads/main", "event": {"inputs": None}},
    "needs": {"a": {"result": "skipped", "outputs": {"retrain": "true"}}},
    "env": {"X": "1"},
}
STATUS = {
    "success": lambda: True,
    "failure": lambda: False,
    "always": lambda: True,
    "cancelled": lambda: False,
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("github.event_name == 'PUSH'", True),  # strings compare without case
        ("github.ref != 'refs/heads/main'", False),
        ("github.event.inputs.force_retrain || 'false'", "false"),  # null || default
        ("github.ref == 'refs/heads/main' && 'kubernetes' || 'staging'", "kubernetes"),
        ("github.ref == 'x' && 'kubernetes' || 'staging'", "staging"),
        ("!(needs.a.result == 'success' || needs.a.result == 'skipped')", False),
        ("needs.a.outputs.missing == ''", True),  # a missing key is null, null == '' as numbers
        ("env.X == 1", True),
        ("'it''s'", "it's"),
    ],
)
def test_expressions(text: str, value: Any) -> None:
    assert evaluate(text, CTX) == value


@pytest.mark.parametrize(
    "text", ["contains(github.ref, 'main')", "github.ref[0]", "a.b <", "(true"]
)
def test_what_is_not_understood_is_an_error(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text, {**CTX, "a": {}}, STATUS)


def test_unknown_context_is_an_error_and_substitute_formats_values() -> None:
    with pytest.raises(ExpressionError, match="unknown context 'matrix'"):
        evaluate("matrix.os", CTX)
    assert (
        substitute("FORCE=${{ github.event.inputs.force_retrain || 'false' }} n=${{ 3 }}", CTX)
        == "FORCE=false n=3"
    )


def test_an_if_without_a_status_function_needs_success() -> None:
    failed = {**STATUS, "success": lambda: False}
    assert condition("github.event_name == 'push'", CTX, STATUS)
    assert not condition("github.event_name == 'push'", CTX, failed)
    assert condition("${{ !cancelled() && github.event_name == 'push' }}", CTX, failed)
    assert not condition(None, CTX, failed)


def test_read_pairs_reads_lines_and_heredocs(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("a=1\nb=x=y\nmsg<<EOF\nline 1\nline 2\nEOF\n")
    assert read_pairs(path) == {"a": "1", "b": "x=y", "msg": "line 1\nline 2"}


# ------------------------------------------------------------------ small workflows, run for real


def _source(tmp_path: Path) -> tuple[Path, str]:
    source = tmp_path / "source"
    source.mkdir(parents=True)
    (source / "Makefile").write_text(
        'hello:\n\t@echo "greeting=hello $(WHO)" | tee -a $$GITHUB_OUTPUT\n'
        ".PHONY: deploy-it\ndeploy-it:\n"
        "\tcd deploy/overlays/staging && kustomize edit set image churn-service=$(IMAGE)\n"
        "\tKUBECONFIG=k kubectl apply -k deploy/overlays/staging\n"
        "\tKUBECONFIG=k kubectl -n churn-staging rollout status deployment/churn-service\n"
        "image:\n\tdocker build -t x .\n"
    )
    subprocess.run(["cp", "-r", str(REPO / "deploy"), str(source / "deploy")], check=True)
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return source, sha.stdout.strip()


def _run(tmp_path: Path, jobs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    source, sha = _source(tmp_path)
    workflow = tmp_path / "wf.yml"
    on = {
        "push": {"branches": ["develop"]},
        "pull_request": None,
        "workflow_dispatch": {"inputs": {"force": {"type": "boolean", "default": False}}},
    }
    workflow.write_text(yaml.safe_dump({"name": "t", "on": on, "jobs": jobs}, sort_keys=False))
    opts = Options(
        source=source,
        sha=sha,
        event=kw.pop("event", "push"),
        ref="refs/heads/develop",
        run_id="7",
        workdir=tmp_path / "run",
        cluster=tmp_path / "cluster",
        venv=Path(sys.prefix),
        workflow=workflow,
        **kw,
    )
    return {r.job: r for r in run_workflow(opts)}


CHECKOUT = [{"uses": "actions/checkout@v4"}]


def test_jobs_follow_needs_outputs_and_github_skip_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = {
        "first": {
            "runs-on": "x",
            "outputs": {"greeting": "${{ steps.h.outputs.greeting }}"},
            "steps": [*CHECKOUT, {"id": "h", "run": "make hello WHO=${{ github.run_id }}"}],
        },
        "gate": {
            "runs-on": "x",
            "needs": "first",
            "if": "needs.first.outputs.greeting == 'nope'",
            "steps": [{"run": "false"}],
        },
        "after-gate": {"runs-on": "x", "needs": "gate", "steps": [{"run": "true"}]},
        "anyway": {
            "runs-on": "x",
            "needs": ["first", "gate"],
            "if": "!cancelled() && needs.gate.result == 'skipped'",
            "steps": [{"run": "true"}],
        },
        "below-anyway": {"runs-on": "x", "needs": "anyway", "steps": [{"run": "true"}]},
        "broken": {
            "runs-on": "x",
            "steps": [
                {"run": "exit 3"},
                {"run": "echo never"},
                {"if": "failure()", "run": "echo cleanup"},
            ],
        },
    }
    runs = _run(tmp_path, jobs)
    assert runs["first"].result == "success" and runs["first"].outputs == {"greeting": "hello 7"}
    assert runs["gate"].result == "skipped"
    assert runs["after-gate"].result == "skipped"
    assert runs["anyway"].result == "success"
    # GitHub's default success() looks at every ancestor: `gate` was skipped, so this one is too
    assert runs["below-anyway"].result == "skipped"
    assert runs["broken"].result == "failure"
    log = (tmp_path / "run" / "broken.log").read_text()
    assert (
        "$ echo never" not in log and "step 2 (echo never): skipped" in log and "\ncleanup" in log
    )
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [ln["job"] for ln in lines] == list(jobs)


def test_offline_cluster_steps_and_engine_steps(tmp_path: Path) -> None:
    jobs = {
        "deploy": {
            "runs-on": "x",
            "steps": [
                *CHECKOUT,
                {"run": "make deploy-it IMAGE=ghcr.io/o/churn-service:abc"},
                {"run": "make image"},
            ],
        }
    }
    runs = _run(tmp_path, jobs)
    assert runs["deploy"].result == "success", runs["deploy"].log
    state = json.loads((tmp_path / "cluster" / "churn-staging.json").read_text())
    assert state["objects"]["Deployment/churn-service"]["images"] == ["ghcr.io/o/churn-service:abc"]
    assert any("make image: skipped, no container engine" in n for n in runs["deploy"].notes)


def test_unknown_actions_keys_and_cluster_lines_stop_the_run(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="actions/cache@v4 has no local equivalent"):
        _run(tmp_path / "a", {"j": {"runs-on": "x", "steps": [{"uses": "actions/cache@v4"}]}})
    with pytest.raises(WorkflowError, match="strategy"):
        _run(tmp_path / "b", {"j": {"runs-on": "x", "strategy": {}, "steps": [{"run": "true"}]}})
    with pytest.raises(WorkflowError, match="inputs \\['nope'\\]"):
        _run(
            tmp_path / "c",
            {"j": {"runs-on": "x", "steps": [{"run": "true"}]}},
            event="workflow_dispatch",
            inputs={"nope": "1"},
        )
    with pytest.raises(ClusterStepError, match="kubectl delete"):
        run_offline("kubectl -n x delete pod y", tmp_path, Cluster(tmp_path / "c2"), {}, str)
    with pytest.raises(ClusterStepError, match="never applied"):
        run_offline(
            "kubectl -n x rollout status deployment/y", tmp_path, Cluster(tmp_path / "c3"), {}, str
        )


def test_secrets_are_masked_in_the_job_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = {
        "j": {
            "runs-on": "x",
            "outputs": {"leak": "${{ secrets.TOKEN }}"},
            "steps": [{"run": "true"}],
        }
    }
    runs = _run(tmp_path, jobs, secrets={"TOKEN": "s3cr3t-value"})
    assert runs["j"].outputs == {"leak": "s3cr3t-value"}
    assert "s3cr3t-value" not in capsys.readouterr().out


# ------------------------------------------------------------------ the real workflow's gates


def _workflow() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text()))


@pytest.mark.parametrize(
    ("event", "train", "image_runs"),
    [
        ("push", "success", True),
        ("push", "skipped", True),  # a code-only change ships
        ("push", "failure", False),
        ("pull_request", "success", False),  # pull requests never push or deploy
        ("pull_request", "skipped", False),
    ],
)
def test_image_runs_whether_or_not_train_ran(event: str, train: str, image_runs: bool) -> None:
    jobs = _workflow()["jobs"]
    ctx = {
        "github": {"event_name": event, "ref": "refs/heads/develop"},
        "needs": {"data-validation": {"result": "success"}, "train": {"result": train}},
    }
    ancestors_ok = {**STATUS, "success": lambda: train == "success"}
    assert condition(jobs["image"]["if"], ctx, ancestors_ok) is image_runs
    deploy_ctx = {"needs": {"image": {"result": "success" if image_runs else "skipped"}}}
    assert condition(jobs["deploy-staging"]["if"], deploy_ctx, ancestors_ok) is image_runs


def test_blue_green_offline_from_the_real_recipes(tmp_path: Path) -> None:
    """`make deploy-idle` then `make switch-color`, twice: the new image goes to the idle color
    only, the live one keeps its image, and the switch flips which color is live."""
    from tests.stacks.workflow_check import dry_run

    subprocess.run(["cp", "-r", str(REPO / "deploy"), str(tmp_path / "deploy")], check=True)
    cluster = Cluster(tmp_path / "cluster")
    output = tmp_path / "out"

    def deploy(tag: str) -> dict[str, str]:
        output.write_text("")
        image = f"ghcr.io/o/churn-service:{tag}"
        code, recipe = dry_run(["deploy-idle"], {"IMAGE": image, "GIT_SHA": tag * 3}, {})
        assert code == 0, recipe
        run_offline(recipe, tmp_path, cluster, {"GITHUB_OUTPUT": str(output)}, str)
        colors = read_pairs(output)
        code, recipe = dry_run(["switch-color"], {"COLOR": colors["idle"]}, {})
        run_offline(recipe, tmp_path, cluster, {}, str)
        return colors

    assert deploy("aaaa") == {"active": "blue", "idle": "green"}
    assert deploy("bbbb") == {"active": "green", "idle": "blue"}
    objects = cluster.read("churn")["objects"]
    assert objects["Deployment/churn-service-blue"]["images"] == ["ghcr.io/o/churn-service:bbbb"]
    assert objects["Deployment/churn-service-green"]["images"] == ["ghcr.io/o/churn-service:aaaa"]
    assert cluster.read("churn")["active_color"] == "blue"
