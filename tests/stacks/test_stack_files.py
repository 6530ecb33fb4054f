"""The stack files parse, interpolate and keep secrets out of the repository (no ZenML needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from churn.stacks import spec as stack_cli

REPO = Path(__file__).resolve().parents[2]
K8S_ENV = {
    "CHURN_KUBE_CONTEXT": "ctx",
    "CHURN_S3_BUCKET": "bucket",
    "CHURN_MLFLOW_REMOTE_URI": "https://mlflow.example.invalid",
    "CHURN_GHCR_OWNER": "acme",
}


def test_interpolate_env_defaults_and_missing() -> None:
    missing: set[str] = set()
    value = {"a": "${X}/${Y:-dflt}", "b": ["${Z}"], "c": 3}
    out = stack_cli.interpolate(value, {"X": "x"}, missing)
    assert out == {"a": "x/dflt", "b": ["${Z}"], "c": 3}
    assert missing == {"Z"}


def test_secret_references_are_left_for_zenml() -> None:
    missing: set[str] = set()
    assert stack_cli.interpolate("{{s3.key}}", {}, missing) == "{{s3.key}}"
    assert stack_cli.without_secrets({"k": ["{{s3.key}}"]}) == {"k": ["placeholder-s3-key"]}


@pytest.mark.parametrize(
    ("env", "name", "types"),
    [
        ("local", "churn-local", {"orchestrator", "artifact_store", "experiment_tracker"}),
        ("staging", "churn-staging", {"experiment_tracker", "model_registry", "data_validator"}),
        (
            "kubernetes",
            "churn-kubernetes",
            {"step_operator", "image_builder", "container_registry"},
        ),
    ],
)
def test_stack_files_load(env: str, name: str, types: set[str]) -> None:
    spec, missing = stack_cli.load_stack(env, environ=K8S_ENV)
    assert not missing
    assert spec.name == name
    assert types <= {c.type for c in spec.components}


def test_local_stack_tracks_into_the_settings_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    spec, _ = stack_cli.load_stack("local", environ={"CHURN_MLFLOW_TRACKING_URI": "sqlite:///x.db"})
    tracker = next(c for c in spec.components if c.type == "experiment_tracker")
    assert tracker.flavor == "mlflow" and tracker.config["tracking_uri"] == "sqlite:///x.db"
    spec, _ = stack_cli.load_stack("local", environ={})
    tracker = next(c for c in spec.components if c.type == "experiment_tracker")
    assert tracker.config["tracking_uri"].startswith("sqlite:///")
    assert tracker.config["tracking_uri"].endswith("mlruns.db")


def test_kubernetes_stack_needs_its_variables() -> None:
    with pytest.raises(stack_cli.StackFileError, match="CHURN_KUBE_CONTEXT"):
        stack_cli.load_stack("kubernetes", environ={})


def test_kubernetes_credentials_are_secret_references() -> None:
    spec, _ = stack_cli.load_stack("kubernetes", environ=K8S_ENV)
    refs = spec.secret_references()
    assert ("churn-s3", "aws_access_key_id") in refs
    assert ("churn-mlflow", "password") in refs
    training = next(c for c in spec.components if c.type == "step_operator")
    assert training.config["pod_settings"]["resources"]["limits"]["memory"]


def test_no_literal_credentials_in_stack_files() -> None:
    # a YAML key ending in a credential word, with a value on the same line
    sensitive = re.compile(
        r"^\s*-?\s*[\w-]*(key|secret|password|token|username)\s*:\s*(\S.*)", re.I
    )
    for path in (REPO / "stacks").glob("*.yaml"):
        for line in path.read_text().splitlines():
            match = sensitive.search(line.split("#")[0])
            if match:
                assert re.fullmatch(r'"\{\{[\w.-]+\}\}"', match.group(2).strip()), (path, line)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"components": {}}, "string 'name'"),
        ({"name": "x", "components": {"orchestrator": {"name": "o", "flavor": "local"}}}, "needs"),
        ({"name": "x", "components": {"orchestrater": {}}}, "unknown component types"),
        ({"name": "x", "componets": {}}, "'components' must be"),
        (
            {
                "name": "x",
                "generated_secrets": {"s": "token"},
                "components": {
                    "orchestrator": {"name": "o", "flavor": "local"},
                    "artifact_store": {"name": "a", "flavor": "local"},
                },
            },
            "generated_secrets",
        ),
        (
            {
                "name": "x",
                "components": {
                    "orchestrator": {"name": "o", "flavor": "local", "cfg": {}},
                    "artifact_store": {"name": "a", "flavor": "local"},
                },
            },
            "unknown keys",
        ),
    ],
)
def test_parse_stack_rejects_bad_files(raw: dict[str, object], message: str) -> None:
    with pytest.raises(stack_cli.StackFileError, match=message):
        stack_cli.parse_stack(raw, "bad")


def test_staging_generates_its_tracking_token() -> None:
    spec, _ = stack_cli.load_stack("staging", environ={})
    assert spec.generated_secrets == (("churn-staging-mlflow", ("token",)),)
    tracker = next(c for c in spec.components if c.type == "experiment_tracker")
    assert tracker.config["tracking_uri"] == "http://127.0.0.1:5050"
    assert tracker.config["tracking_token"] == "{{churn-staging-mlflow.token}}"
    # CI points it at the team's server (secret MLFLOW_TRACKING_URI -> CHURN_MLFLOW_REMOTE_URI)
    spec, _ = stack_cli.load_stack("staging", environ={"CHURN_MLFLOW_REMOTE_URI": "https://ml.x"})
    tracker = next(c for c in spec.components if c.type == "experiment_tracker")
    assert tracker.config["tracking_uri"] == "https://ml.x"


def test_stack_files_are_plain_yaml_mappings() -> None:
    for path in (REPO / "stacks").glob("*.yaml"):
        assert isinstance(yaml.safe_load(path.read_text()), dict), path
