"""`churn stack apply|check` against a throw-away ZenML store (ZENML_CONFIG_PATH in tmp).

All ZenML work happens in ONE subprocess (`_DRIVER`) so that the suite pays ZenML's import and
store creation once (~25 s); the tests then read its recorded results. Nothing here talks to a
cluster: the Kubernetes checks use a kubeconfig that points at 127.0.0.1 and is never contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from churn.cli import stack as stack_cli
from churn.stacks.check import missing_requirements

REPO = Path(__file__).resolve().parents[2]

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "test", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "test", "user": {"token": "not-a-secret"}}],
    "contexts": [{"name": "churn-test", "context": {"cluster": "test", "user": "test"}}],
    "current-context": "churn-test",
}

# A small stack whose validators need a kubeconfig but no optional packages (s3fs etc.).
PROBE_STACK = {
    "name": "churn-k8s-probe",
    "components": {
        "orchestrator": {
            "name": "probe-k8s",
            "flavor": "kubernetes",
            "config": {"kubernetes_context": "${PROBE_CONTEXT}"},
        },
        "artifact_store": {"name": "probe-artifacts", "flavor": "local"},
        "container_registry": {
            "name": "probe-ghcr",
            "flavor": "github",
            "config": {"uri": "ghcr.io/acme"},
        },
        "image_builder": {
            "name": "probe-kaniko",
            "flavor": "kaniko",
            "config": {"kubernetes_context": "${PROBE_CONTEXT}"},
        },
    },
}

# Throw-away values for the secrets stacks/kubernetes.yaml references (nothing is contacted).
S3_SECRET = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
MLFLOW_SECRET = {"username": "test-user", "password": "test-password"}

_DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, os, sys
    from churn.cli.stack import main

    results = []
    for env, argv in json.loads(sys.argv[1]):
        if argv[0] == "create-secret":  # ["create-secret", name, {key: value}]
            from zenml.client import Client
            Client().create_secret(argv[1], argv[2])
            results.append({"argv": argv, "code": 0, "out": ""})
            continue
        saved = dict(os.environ)
        os.environ.update(env)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(argv)
        os.environ.clear()
        os.environ.update(saved)
        results.append({"argv": argv, "code": code, "out": out.getvalue()})
    print("RESULTS=" + json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("zenml")
    stacks = tmp / "stacks"
    shutil.copytree(REPO / "stacks", stacks)
    changed = yaml.safe_load((stacks / "local.yaml").read_text())
    changed["components"]["experiment_tracker"]["config"]["experiment_name"] = "other"
    (stacks / "local-changed.yaml").write_text(yaml.safe_dump(changed))
    (stacks / "probe.yaml").write_text(yaml.safe_dump(PROBE_STACK))
    bad = yaml.safe_load((stacks / "local.yaml").read_text())
    bad["components"]["data_validator"]["flavor"] = "no-such-flavor"
    (stacks / "bad-flavor.yaml").write_text(yaml.safe_dump(bad))
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    root = tmp / "repo"
    root.mkdir()
    sd = ["--stacks-dir", str(stacks)]
    k8s_env = {
        "CHURN_KUBE_CONTEXT": "churn-test",
        "CHURN_S3_BUCKET": "bucket",
        "CHURN_MLFLOW_REMOTE_URI": "https://mlflow.example.invalid",
        "CHURN_GHCR_OWNER": "acme",
    }
    calls = {
        "apply1": ({}, ["apply", "local", "--repo-root", str(root), *sd]),
        "apply2": ({}, ["apply", "local", "--repo-root", str(root), *sd]),
        "apply_changed": ({}, ["apply", "local-changed", "--repo-root", str(root), *sd]),
        "check_local": ({}, ["check", "local", *sd]),
        "apply_bad_flavor": ({}, ["apply", "bad-flavor", "--repo-root", str(root), *sd]),
        "check_staging_before": ({}, ["check", "staging", *sd]),
        "apply_staging": ({}, ["apply", "staging", "--repo-root", str(root), *sd]),
        "check_staging": ({}, ["check", "staging", *sd]),
        "check_k8s_noenv": ({}, ["check", "kubernetes", *sd]),
        "check_k8s": (k8s_env, ["check", "kubernetes", "--kubeconfig", str(kubeconfig), *sd]),
        "secret_s3": ({}, ["create-secret", "churn-s3", S3_SECRET]),
        "secret_mlflow": ({}, ["create-secret", "churn-mlflow", MLFLOW_SECRET]),
        "check_k8s_ready": (
            k8s_env,
            ["check", "kubernetes", "--kubeconfig", str(kubeconfig), *sd],
        ),
        "check_k8s_no_kubeconfig": (k8s_env, ["check", "kubernetes", *sd]),
        "probe_absent": (
            {"PROBE_CONTEXT": "no-such-context"},
            ["check", "probe", "--kubeconfig", str(kubeconfig), *sd],
        ),
        "probe_present": (
            {"PROBE_CONTEXT": "churn-test"},
            ["check", "probe", "--kubeconfig", str(kubeconfig), *sd],
        ),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "ZENML_"))}
    env.update(
        ZENML_CONFIG_PATH=str(tmp / "config"),
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_LOGGING_VERBOSITY="WARN",
        CHURN_MLFLOW_TRACKING_URI=f"sqlite:///{tmp / 'mlruns.db'}",
        KUBECONFIG=str(tmp / "absent-kubeconfig"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(list(calls.values()))],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS=")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(lines[-1].removeprefix("RESULTS="))
    out = dict(zip(calls, results, strict=True))
    out["_root"] = {"path": str(root), "config": str(tmp / "config")}
    return out


def test_apply_creates_components_stack_and_repository(runs: dict[str, dict[str, Any]]) -> None:
    first = runs["apply1"]
    assert first["code"] == 0, first["out"]
    assert "created stack 'churn-local'" in first["out"]
    for name in ("churn-local-orchestrator", "churn-local-mlflow", "churn-evidently"):
        assert f"'{name}'" in first["out"]
    assert "activated stack 'churn-local'" in first["out"]
    assert "initialised ZenML repository" in first["out"]
    assert (Path(runs["_root"]["path"]) / ".zen").is_dir()


def test_apply_twice_changes_nothing_and_says_so(runs: dict[str, dict[str, Any]]) -> None:
    second = runs["apply2"]
    assert second["code"] == 0
    assert "nothing changed" in second["out"]
    assert "created" not in second["out"] and "updated" not in second["out"]
    assert "initialised" not in second["out"]


def test_apply_updates_a_changed_config_in_place(runs: dict[str, dict[str, Any]]) -> None:
    changed = runs["apply_changed"]
    assert changed["code"] == 0
    assert "updated experiment_tracker 'churn-local-mlflow': experiment_name" in changed["out"]
    assert "created" not in changed["out"]


def test_apply_refuses_a_stack_that_does_not_check(runs: dict[str, dict[str, Any]]) -> None:
    result = runs["apply_bad_flavor"]
    assert result["code"] == 1
    assert "no ZenML flavor 'no-such-flavor'" in result["out"]
    assert "not applied" in result["out"] and "created" not in result["out"]


def test_check_local_is_valid(runs: dict[str, dict[str, Any]]) -> None:
    check = runs["check_local"]
    assert check["code"] == 0, check["out"]
    assert "Stack.validate(): stack 'churn-local' is valid" in check["out"]


def test_staging_apply_generates_the_tracking_token(runs: dict[str, dict[str, Any]]) -> None:
    before = runs["check_staging_before"]
    assert before["code"] == 1
    assert "ZenML secret 'churn-staging-mlflow' is missing" in before["out"]
    applied = runs["apply_staging"]
    assert applied["code"] == 0, applied["out"]
    assert "created secret 'churn-staging-mlflow' (token: random values)" in applied["out"]
    assert "activated stack 'churn-staging'" in applied["out"]
    after = runs["check_staging"]
    assert after["code"] == 0, after["out"]
    assert "Stack.validate(): stack 'churn-staging' is valid" in after["out"]


def test_check_kubernetes_lists_unset_variables(runs: dict[str, dict[str, Any]]) -> None:
    check = runs["check_k8s_noenv"]
    assert check["code"] == 1
    for var in ("CHURN_KUBE_CONTEXT", "CHURN_S3_BUCKET", "CHURN_MLFLOW_REMOTE_URI"):
        assert f"environment variable {var} is not set" in check["out"]
    assert "Stack.validate() skipped" in check["out"]


def test_check_kubernetes_lists_missing_secrets(runs: dict[str, dict[str, Any]]) -> None:
    check = runs["check_k8s"]
    assert check["code"] == 1
    assert (
        "zenml secret create churn-s3 --aws_access_key_id=... --aws_secret_access_key=..."
        in (check["out"])
    )
    assert "zenml secret create churn-mlflow --password=... --username=..." in check["out"]
    assert "stack 'churn-kubernetes': 2 problem(s)" in check["out"]


def test_s3_integration_packages_are_installed() -> None:
    """The `stacks` dependency group (default in `uv sync`) carries what the s3 store needs."""
    assert missing_requirements("s3") == []
    assert missing_requirements("kubernetes") == []


def test_check_kubernetes_passes_with_secrets_and_an_unreachable_cluster(
    runs: dict[str, dict[str, Any]],
) -> None:
    """Nothing listens on the kubeconfig's 127.0.0.1:6443: the check is offline."""
    ready = runs["check_k8s_ready"]
    assert ready["code"] == 0, ready["out"]
    assert "Stack.validate(): stack 'churn-kubernetes' is valid" in ready["out"]
    assert "MISSING/INVALID" not in ready["out"]
    assert "stack 'churn-kubernetes': OK" in ready["out"]
    # The throw-away store is local SQLite: the check passes but says pods could not reach it.
    assert "note: the ZenML store is sql" in ready["out"]
    assert "zenml login https://" in ready["out"]


def test_check_kubernetes_without_a_kubeconfig_names_the_context(
    runs: dict[str, dict[str, Any]],
) -> None:
    bare = runs["check_k8s_no_kubeconfig"]
    assert bare["code"] == 1
    assert "absent-kubeconfig: the stack needs context(s) churn-test" in bare["out"], bare["out"]
    assert "pass --kubeconfig FILE or set KUBECONFIG" in bare["out"]


def test_check_names_a_context_the_kubeconfig_lacks(runs: dict[str, dict[str, Any]]) -> None:
    absent = runs["probe_absent"]
    assert "has no context 'no-such-context' (it has: churn-test)" in absent["out"]


def test_check_runs_stack_validate_against_the_kubeconfig(
    runs: dict[str, dict[str, Any]],
) -> None:
    absent = runs["probe_absent"]
    assert absent["code"] == 1
    assert "could not find a Kubernetes context named 'no-such-context'" in absent["out"]
    present = runs["probe_present"]
    assert present["code"] == 1
    assert "could not find a Kubernetes context" not in present["out"]
    assert "'probe-artifacts' artifact_store is a local stack component" in present["out"]


def test_register_wires_handlers() -> None:
    parser = argparse.ArgumentParser()
    stack_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["stack", "apply", "local"])
    assert args.func is stack_cli.cmd_apply and args.env == "local"
    args = parser.parse_args(["stack", "check", "kubernetes", "--kubeconfig", "k"])
    assert args.func is stack_cli.cmd_check and args.kubeconfig == "k"


def test_import_is_cheap() -> None:
    code = (
        "import sys, churn.cli.stack; heavy = {'zenml', 'mlflow', 'pydantic_settings'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_unknown_env_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert stack_cli.main(["check", "nowhere"]) == 1
    err = capsys.readouterr().err
    assert "no stack file" in err and "local" in err and "kubernetes" in err
