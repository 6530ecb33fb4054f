"""deploy/: render each overlay with `kubectl kustomize`, validate every object strictly against the
Kubernetes schemas of a current release (kubernetes-validate), and check what the platform relies
on: probes, resources, autoscaling, disruption budgets, scrape annotations and blue-green selectors.
Offline: no cluster is contacted; deploy/switch.sh runs against a fake kubectl.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from tests.fixtures.kustomize import DEPLOY, OVERLAYS, Doc, render, rendered

REPO = Path(__file__).resolve().parents[2]
K8S_VERSION = latest_version()


def objects(overlay: str, kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in rendered(overlay) if d["kind"] == kind}


def containers(doc: Doc) -> list[Doc]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return list(spec["template"]["spec"]["containers"])


def service_deployments(overlay: str) -> dict[str, Doc]:
    return {
        n: d for n, d in objects(overlay, "Deployment").items() if n.startswith("churn-service")
    }


def test_current_kubernetes_version() -> None:
    major, minor = (int(p) for p in K8S_VERSION.split(".")[:2])
    assert (major, minor) >= (1, 33), K8S_VERSION


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly(overlay: str) -> None:
    docs = rendered(overlay)
    assert len(docs) >= 12
    errors = []
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name}: no schema for {K8S_VERSION}: {exc}")
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name}: {exc.message} at {list(exc.path)}")
    assert not errors, "\n".join(errors)


def test_strict_validation_rejects_a_typo() -> None:
    doc = dict(objects("staging", "Service")["churn-service"])
    doc["spec"] = {**doc["spec"], "selectr": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_have_probes_and_resources(overlay: str) -> None:
    expected = {
        "churn-flask": ("/healthz", 5001),
        "churn-streamlit": ("/dashboard/_stcore/health", 8501),  # under the Ingress path
    }
    deployments = objects(overlay, "Deployment")
    for name, (path, port) in expected.items():
        (c,) = containers(deployments[name])
        assert c["readinessProbe"]["httpGet"]["path"] == path
        assert c["livenessProbe"]["httpGet"]["path"] == path
        assert c["ports"][0]["containerPort"] == port
    assert service_deployments(overlay)
    for dep in service_deployments(overlay).values():
        (c,) = containers(dep)
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert c["ports"][0]["containerPort"] == 3000
        annotations = dep["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "3000"
        assert annotations["prometheus.io/path"] == "/metrics"
    workloads = [*deployments.values(), *objects(overlay, "CronJob").values()]
    for doc in workloads:
        for c in containers(doc):
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][bound]), (doc["metadata"], bound)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaling_and_disruption_budget_cover_each_service_deployment(overlay: str) -> None:
    deployments = service_deployments(overlay)
    hpas = objects(overlay, "HorizontalPodAutoscaler")
    pdbs = objects(overlay, "PodDisruptionBudget")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == set(deployments)
    for hpa in hpas.values():
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert len(pdbs) == len(deployments)
    for dep in deployments.values():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        matching = [
            p
            for p in pdbs.values()
            if p["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matching) == 1, dep["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_monitoring_cronjob_and_network_policy(overlay: str) -> None:
    (cron,) = objects(overlay, "CronJob").values()
    (c,) = containers(cron)
    assert c["command"] == ["python3", "-m", "churn.cli", "monitor"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    policies = objects(overlay, "NetworkPolicy")
    assert policies["churn-default-deny"]["spec"]["podSelector"] == {}
    assert policies["churn-default-deny"]["spec"]["policyTypes"] == ["Ingress", "Egress"]
    service_policy = policies["churn-service-ingress"]["spec"]
    assert service_policy["ingress"][0]["ports"] == [{"port": 3000, "protocol": "TCP"}]


def test_staging_is_single_slot_in_its_namespace() -> None:
    assert set(service_deployments("staging")) == {"churn-service"}
    assert {d["metadata"].get("namespace") for d in rendered("staging")} - {None} == {
        "churn-staging"
    }


def _selected(service: Doc, deployments: dict[str, Doc]) -> set[str]:
    selector = service["spec"]["selector"].items()
    return {
        name
        for name, dep in deployments.items()
        if selector <= dep["spec"]["template"]["metadata"]["labels"].items()
    }


def test_production_blue_green_selectors() -> None:
    deployments = service_deployments("production")
    assert set(deployments) == {"churn-service-blue", "churn-service-green"}
    for color in ("blue", "green"):
        dep = deployments[f"churn-service-{color}"]
        assert dep["spec"]["selector"]["matchLabels"]["slot"] == color
    services = objects("production", "Service")
    active = yaml.safe_load((DEPLOY / "overlays/production/active-slot.yaml").read_text())
    color = active["spec"]["selector"]["slot"]
    assert _selected(services["churn-service"], deployments) == {f"churn-service-{color}"}
    assert _selected(services["churn-service-blue"], deployments) == {"churn-service-blue"}
    assert _selected(services["churn-service-green"], deployments) == {"churn-service-green"}


FAKE_KUBECTL = """#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
case "$*" in
  *"get service churn-service"*) printf '%s' "$FAKE_LIVE" ;;
  *"rollout status"*) exit "${FAKE_ROLLOUT_RC:-0}" ;;
esac
"""


@pytest.fixture
def deploy_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    fake = tmp_path / "kubectl"
    fake.write_text(FAKE_KUBECTL)
    fake.chmod(0o755)
    return copy


def run_switch(copy: Path, *args: str, live: str, rollout_rc: int = 0) -> tuple[int, str, str]:
    log = copy.parent / "kubectl.log"
    env = {
        "PATH": "/usr/bin:/bin",
        "KUBECTL": str(copy.parent / "kubectl"),
        "FAKE_LOG": str(log),
        "FAKE_LIVE": live,
        "FAKE_ROLLOUT_RC": str(rollout_rc),
    }
    proc = subprocess.run(
        ["bash", str(copy / "switch.sh"), *args], env=env, capture_output=True, text=True
    )
    calls = log.read_text() if log.exists() else ""
    return proc.returncode, proc.stdout + proc.stderr, calls


def test_switch_to_green_patches_the_service_and_records_the_color(deploy_copy: Path) -> None:
    code, out, calls = run_switch(deploy_copy, "green", live="blue")
    assert code == 0, out
    assert "rollout status deployment/churn-service-green" in calls
    assert '"selector":{"slot":"green"}' in calls
    assert "rollback: deploy/switch.sh blue" in out
    services = {
        d["metadata"]["name"]: d
        for d in render(deploy_copy / "overlays/production")
        if d["kind"] == "Service"
    }
    assert services["churn-service"]["spec"]["selector"]["slot"] == "green"


def test_switch_refuses_an_unready_color_and_unknown_colors(deploy_copy: Path) -> None:
    code, _, calls = run_switch(deploy_copy, "green", live="blue", rollout_rc=1)
    assert code != 0
    assert "patch" not in calls
    code, out, _ = run_switch(deploy_copy, "purple", live="blue")
    assert code == 2 and "unknown color" in out


def test_switch_to_the_live_color_does_nothing(deploy_copy: Path) -> None:
    code, out, calls = run_switch(deploy_copy, "blue", live="blue")
    assert code == 0 and "nothing to do" in out
    assert "patch" not in calls
