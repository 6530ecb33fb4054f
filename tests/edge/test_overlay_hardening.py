"""Least privilege in each rendered Kubernetes overlay, offline (`kubectl kustomize`): what an
attacker inside one pod would use next is not there.

- every pod: no service-account token mounted, non-root, and every container with a read-only
  root filesystem, no privilege escalation, no capabilities; writable places are emptyDirs;
- secret volumes are 0440 at most (the pod's group), never world-readable;
- default-deny both ways, and egress only on the few flows the parts use;
- every image by version (never `latest`, never untagged);
- the Ingress does not route /metrics or /api/metrics (checked by ingress-nginx's own order:
  regex paths of a host tried longest first), and the edge headers are the compose edge's;
- retention on, and the customer key only in the service;
- no password, token or key as an environment variable but ZenML's (ZenML reads only those).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.fixtures.kustomize import OVERLAYS, rendered, secret_sources

Doc = dict[str, Any]
WORKLOADS = ("Deployment", "CronJob", "Job")


def pods(overlay: str) -> dict[str, Doc]:
    """Workload name -> its pod spec."""
    out = {}
    for doc in rendered(overlay):
        if doc["kind"] not in WORKLOADS:
            continue
        spec = doc["spec"]
        if doc["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        out[f"{doc['kind']}/{doc['metadata']['name']}"] = spec["template"]["spec"]
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_read_only_without_a_token_or_capabilities(overlay: str) -> None:
    found = pods(overlay)
    assert {"Job/churn-migrate", "CronJob/churn-monitor"} <= set(found)
    for name, pod in found.items():
        assert pod.get("automountServiceAccountToken") is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            where = f"{name}/{c['name']}"
            sc = c["securityContext"]
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            for mount in c.get("volumeMounts", []):
                volume = volumes[mount["name"]]
                writable = not mount.get("readOnly")
                if writable:
                    assert "emptyDir" in volume or "persistentVolumeClaim" in volume, (
                        f"{where}: writes to {mount['mountPath']} ({volume})"
                    )
        for volume in volumes.values():
            if "secret" in volume:
                mode = volume["secret"].get("defaultMode", 0o644)
                assert mode & 0o007 == 0 and mode & 0o222 == 0, f"{name}: {volume} mode {mode:o}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_egress_is_denied_but_for_the_few_flows_the_parts_use(overlay: str) -> None:
    policies = {d["metadata"]["name"]: d["spec"] for d in rendered(overlay)
                if d["kind"] == "NetworkPolicy"}  # fmt: skip
    deny = policies["churn-default-deny"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "egress" not in deny and "ingress" not in deny
    ports = set()
    for name, spec in policies.items():
        for rule in spec.get("egress", []):
            assert rule.get("ports"), f"{name}: an egress rule open on every port"
            ports |= {(p["port"], p["protocol"]) for p in rule["ports"]}
            for peer in rule.get("to", []):
                block = peer.get("ipBlock", {}).get("cidr")
                assert block is None, f"{name}: {block}"
    assert ports == {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (443, "TCP"), (3000, "TCP"),
                     (9091, "TCP"), (9095, "TCP"), (6379, "TCP"), (6380, "TCP"),
                     (9092, "TCP"), (9093, "TCP")}  # fmt: skip
    # Redis (the feature store) for the service and the events consumers only
    redis = policies["churn-egress-redis"]["podSelector"]["matchExpressions"]
    assert redis == [{"key": "app.kubernetes.io/name", "operator": "In",
                      "values": ["churn-service", "churn-events"]}]  # fmt: skip
    # Kafka for the events consumers only
    kafka = policies["churn-egress-kafka"]
    assert kafka["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "churn-events"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_image_is_pinned_to_a_version(overlay: str) -> None:
    for name, pod in pods(overlay).items():
        for c in pod["containers"]:
            image = c["image"]
            tag = image.rsplit("@", 1)[0].rpartition(":")[2] if ":" in image else ""
            assert "@sha256:" in image or re.fullmatch(r"\d+\.\d+\.\d+|[0-9a-f]{12,40}", tag), (
                f"{name}: {image} is not pinned to a version or digest"
            )


def ingress_route(docs: tuple[Doc, ...], uri: str) -> tuple[str, str] | None:
    """(Ingress, backend) ingress-nginx picks for `uri`: with use-regex on any Ingress of the host,
    every path is a case-insensitive regex anchored at the start, tried longest first."""
    paths = []
    for ing in (d for d in docs if d["kind"] == "Ingress"):
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                paths.append((p["path"], ing["metadata"]["name"], p["backend"]["service"]["name"]))
    for path, ingress, backend in sorted(paths, key=lambda p: len(p[0]), reverse=True):
        if re.match(path, uri, re.IGNORECASE):
            return ingress, backend
    return None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_does_not_route_the_metrics(overlay: str) -> None:
    docs = rendered(overlay)
    denied = next(d for d in docs if d["metadata"]["name"] == "churn-internal-only")
    notes = denied["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/denylist-source-range"] == "0.0.0.0/0,::/0"
    for uri in ("/api/metrics", "/api//metrics", "/API/Metrics/x", "/metrics", "//metrics"):
        assert ingress_route(docs, uri) is not None
        assert ingress_route(docs, uri)[0] == "churn-internal-only", uri  # type: ignore[index]
    assert ingress_route(docs, "/api/predict") == ("churn-api", "churn-service")
    assert ingress_route(docs, "/api/metricsfoo") == ("churn-api", "churn-service")
    assert ingress_route(docs, "/dashboard/x") == ("churn-web", "churn-streamlit")
    assert ingress_route(docs, "/predict-form") == ("churn-web", "churn-flask")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_cluster_edge_headers_and_retention_are_on(overlay: str) -> None:
    docs = rendered(overlay)
    (headers,) = [d for d in docs if d["metadata"]["name"].startswith("churn-edge-headers")]
    assert headers["data"]["X-Frame-Options"] == "DENY"
    assert headers["data"]["Cache-Control"] == "no-store"
    assert headers["data"]["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["data"]["Content-Security-Policy"]
    (config,) = [d for d in docs if d["metadata"]["name"].startswith("churn-config")]
    assert int(config["data"]["CHURN_RETENTION_DAYS"]) >= 1
    keyed = {
        name
        for name, pod in pods(overlay).items()
        for c in pod["containers"]
        if "CHURN_CUSTOMER_ID_KEY" in secret_sources(pod, c)
    }
    # the service and the events consumers (which log re-scores as the service does) key IDs
    assert keyed and all(
        k.startswith(("Deployment/churn-service", "Deployment/churn-events")) for k in keyed
    ), keyed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_reach_the_pods_as_files(overlay: str) -> None:
    as_env = {
        f"{name}: {e['name']}"
        for name, pod in pods(overlay).items()
        for c in pod["containers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
        and e["name"] not in ("ZENML_STORE_URL", "ZENML_STORE_API_KEY")
    }
    assert as_env == set()
    files = {name: secret_sources(pod, pod["containers"][0]) for name, pod in pods(overlay).items()}
    assert files["Job/churn-migrate"]["CHURN_PREDICTION_DB"] == (
        "churn-secrets",
        "prediction-db-url",
    )
    assert files["CronJob/churn-monitor"]["CHURN_PUSHGATEWAY_PASSWORD"] == (
        "churn-monitoring-auth",
        "pushgateway-password",
    )
