"""Grafana dashboards and provisioning under monitoring/grafana/: every panel query names only
metrics from docs/CONTRACT.md, panels cover what operators need, provisioning is consistent.
(A live check against a running service belongs to the serving tests.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "monitoring" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
CONTRACT = REPO / "docs" / "CONTRACT.md"

PROMQL_WORDS = {
    # functions
    "sum", "max", "min", "avg", "count", "rate", "irate", "increase", "histogram_quantile",
    "time", "label_values", "topk", "bottomk", "abs", "clamp_min", "clamp_max", "vector",
    # keywords and modifiers
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool",
}  # fmt: skip
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def contract_metrics() -> set[str]:
    text = CONTRACT.read_text()
    section = text.split("## Prometheus metric names", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`((?:bentoml|churn)_[a-z_]+)", section))


def metric_names(expr: str) -> set[str]:
    """Identifiers of an expression that are metric names (not functions, labels, variables)."""
    expr = re.sub(r'"[^"]*"', "", expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r"\$\w+", "", expr)  # dashboard variables
    names = set()
    for token in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if token in PROMQL_WORDS:
            continue
        for suffix in HISTOGRAM_SUFFIXES:
            if token.endswith(suffix) and token.removesuffix(suffix) in contract_metrics():
                token = token.removesuffix(suffix)
        names.add(token)
    return names


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(all_panels(panel.get("panels", [])))
    return out


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in all_panels(dashboard["panels"])
        for target in panel.get("targets", [])
    ]


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_contract_metric_list_is_read() -> None:
    names = contract_metrics()
    assert {"bentoml_service_request_duration_seconds", "churn_drift_share"} <= names
    assert len(names) >= 15


def test_metric_name_extraction() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le) (rate(bentoml_service_request_duration_seconds_bucket"
        '{job=~"$job", endpoint!~"/x"}[$__rate_interval]))) / churn_typo_total'
    )
    assert metric_names(expr) == {"bentoml_service_request_duration_seconds", "churn_typo_total"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_names_only_contract_metrics(path: Path) -> None:
    contract = contract_metrics()
    found = queries(load(path))
    assert found
    for title, expr in found:
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= contract, f"{title}: {sorted(names - contract)} not in docs/CONTRACT.md"


def test_dashboard_covers_the_operator_questions() -> None:
    exprs = " ".join(e for path in DASHBOARDS for _, e in queries(load(path)))
    for needed in (
        "rate(bentoml_service_request_total",  # request rate
        "histogram_quantile(0.95, sum by (le) (rate(bentoml_service_request_duration_seconds",
        "histogram_quantile(0.99",
        "bentoml_service_adaptive_batch_size",  # batch sizes
        "sum by (decision) (rate(churn_predictions_total",  # prediction mix
        "churn_drift_share",  # drift share
    ):
        assert needed in exprs, needed


def test_panels_have_unique_ids_and_the_provisioned_datasource() -> None:
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    for path in DASHBOARDS:
        dashboard = load(path)
        panels = all_panels(dashboard["panels"])
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids))
        for panel in panels:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert dashboard["uid"]


def test_provisioning_files() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "churn.yml").read_text())
    assert providers["apiVersion"] == 1 and providers["providers"][0]["type"] == "file"
    for path in (GRAFANA / "provisioning").rglob("*.yml"):
        # Grafana expands $VAR and ${VAR} only: a shell-style default would be kept literally.
        assert ":-" not in "".join(re.findall(r"\$\{[^}]*\}", path.read_text())), path


def test_the_compose_datasource_is_the_shipped_one_with_its_password_from_a_file() -> None:
    """#35: compose's Grafana reads the datasource password from its secret file (`$__file{}`),
    not a variable; otherwise the datasource is monitoring/grafana's own."""
    shipped = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    compose = yaml.safe_load(
        (GRAFANA.parents[1] / "deploy" / "grafana" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    password = compose.pop("secureJsonData")["basicAuthPassword"]
    shipped.pop("secureJsonData")
    assert compose == shipped
    assert password == "$__file{/run/secrets/prometheus_password}"
    grafana = yaml.safe_load((GRAFANA.parents[1] / "docker-compose.yml").read_text())["services"][
        "grafana"
    ]
    assert "CHURN_PROMETHEUS_PASSWORD" not in grafana["environment"]
    assert {"source": "grafana_prometheus_password", "target": "prometheus_password"} in grafana[
        "secrets"
    ]
