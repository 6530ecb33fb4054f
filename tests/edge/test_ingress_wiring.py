"""The Kubernetes edge (deploy/base/common/ingress.yaml) in each rendered overlay: TLS on every
Ingress, each backend a rendered Service and port, the UIs on the project database behind one hop.
The controller itself does not run here; tests/edge/test_edge_proxy.py runs the compose edge."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.fixtures.kustomize import DEPLOY, OVERLAYS, rendered, secret_sources


def ingress_problems(docs: tuple[dict[str, Any], ...]) -> list[str]:
    external = yaml.safe_load((DEPLOY / "external.yaml").read_text())["secrets"]
    services = {
        d["metadata"]["name"]: {p.get("name") for p in d["spec"]["ports"]}
        | {p["port"] for p in d["spec"]["ports"]}
        for d in docs
        if d["kind"] == "Service"
    }
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    problems = [] if ingresses else ["no Ingress"]
    routed = set()
    for ing in ingresses:
        name, spec = ing["metadata"]["name"], ing["spec"]
        notes = ing["metadata"].get("annotations", {})
        if notes.get("nginx.ingress.kubernetes.io/force-ssl-redirect") != "true":
            problems.append(f"{name}: HTTP is not redirected to HTTPS")
        hosts = {h for t in spec.get("tls", []) for h in t["hosts"]}
        for tls in spec.get("tls", []) or [{}]:
            if tls.get("secretName") not in external:
                problems.append(
                    f"{name}: TLS secret {tls.get('secretName')} is not in external.yaml"
                )
        for rule in spec["rules"]:
            if rule.get("host") not in hosts:
                problems.append(f"{name}: host {rule.get('host')} is served without TLS")
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                port = backend["port"].get("name") or backend["port"].get("number")
                if port not in services.get(backend["name"], set()):
                    problems.append(
                        f"{name}: {path['path']} -> {backend['name']}:{port} is no Service"
                    )
                routed.add(backend["name"])
    missing = {"churn-service", "churn-flask", "churn-streamlit"} - routed
    return problems + [f"nothing routes to {m}" for m in sorted(missing)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_ingress_has_tls_and_reaches_a_service(overlay: str) -> None:
    docs = rendered(overlay)
    assert ingress_problems(docs) == []
    broken = yaml.safe_load(yaml.safe_dump(list(docs)))  # the check catches a wrong port and no TLS
    for doc in broken:
        if doc["kind"] == "Ingress":
            doc["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] = {
                "number": 1
            }
            doc["spec"].pop("tls")
    problems = ingress_problems(tuple(broken))
    assert any("is no Service" in p for p in problems), problems
    assert any("without TLS" in p for p in problems), problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_uis_sign_in_against_the_project_database_behind_one_hop(overlay: str) -> None:
    for name in ("churn-flask", "churn-streamlit"):
        (deployment,) = [
            d
            for d in rendered(overlay)
            if d["kind"] == "Deployment" and d["metadata"]["name"] == name
        ]
        spec = deployment["spec"]["template"]["spec"]
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        read = secret_sources(spec, spec["containers"][0])
        # the UIs' own role (churn_ui), never the owner's
        assert read["CHURN_PREDICTION_DB"] == ("churn-secrets", "ui-db-url"), name
        # company sign-in by settings alone: an optional config map and client secret file
        assert read["CHURN_OIDC_CLIENT_SECRET"] == ("churn-oidc", "client-secret"), name
        sign_in = [s for s in spec["containers"][0]["envFrom"] if "configMapRef" in s]
        assert {"name": "churn-sign-in", "optional": True} in [s["configMapRef"] for s in sign_in]
        # the customer key only where IDs are keyed (the service): a UI holding it could turn
        # every keyed hash back into an ID by brute force
        assert "CHURN_CUSTOMER_ID_KEY" not in read, name
        if name == "churn-flask":
            assert env["CHURN_PROXY_HOPS"]["value"] == "1"
            assert env["CHURN_UI_SECURE_COOKIES"]["value"] == "true"
