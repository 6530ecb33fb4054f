"""Integration: a real Prometheus on loopback scrapes the running service, and the Grafana
dashboard's queries name metrics the service really exports (drift gauges come from the
monitoring run, the Flask metrics from the Flask app, not the service)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from churn.schema import EXAMPLE_RECORD
from tests.fixtures.launcher import RunningService
from tests.fixtures.ports import free_port
from tests.stacks.test_grafana_dashboards import DASHBOARDS, load, metric_names, queries

MONITORING_ONLY = {
    "churn_drift_share",
    "churn_drift_detected",
    "churn_drift_last_run_timestamp_seconds",
}


def _exported(service: RunningService) -> set[str]:
    text = requests.get(f"{service.url}/metrics", timeout=10).text
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
    return names


@pytest.fixture()
def prometheus(service: RunningService, tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run `bash scripts/install_system_deps.sh`")
    target = service.url.removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "churn-service", "static_configs": [{"targets": [target]}]}
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _query(url: str, expr: str, timeout_s: float = 90.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            body = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()
            if body.get("status") == "success" and body["data"]["result"]:
                return list(body["data"]["result"])
        except requests.RequestException:
            pass
        time.sleep(1)
    return []


def test_prometheus_scrapes_the_service_metrics(service: RunningService, prometheus: str) -> None:
    for _ in range(5):
        resp = requests.post(
            f"{service.url}/predict",
            json={"customer": EXAMPLE_RECORD},
            timeout=10,
            headers=service.headers,
        )
        assert resp.status_code == 200
    up = _query(prometheus, 'up{job="churn-service"} == 1')
    assert up, "Prometheus never saw the service up"
    predictions = _query(prometheus, "sum(churn_predictions_total) >= 5")
    assert predictions, "churn_predictions_total not found through the Prometheus API"
    assert _query(prometheus, "churn_model_info == 1")
    assert _query(prometheus, "bentoml_service_request_duration_seconds_count")


def test_grafana_queries_name_metrics_the_service_exports(service: RunningService) -> None:
    requests.post(
        f"{service.url}/predict_batch",
        json={"customers": [EXAMPLE_RECORD]},
        timeout=10,
        headers=service.headers,
    )
    exported = _exported(service)
    for path in DASHBOARDS:
        for title, expr in queries(load(path)):
            names = {n for n in metric_names(expr) if not n.startswith("churn_flask_")}
            missing = names - exported - MONITORING_ONLY
            assert not missing, f"panel {title!r} queries {missing}, not exported by the service"
