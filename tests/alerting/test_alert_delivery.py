"""Integration: a drift gauge pushed by the monitoring code reaches an on-call webhook.

Real Prometheus, Pushgateway and Alertmanager (Debian packages) and a webhook receiver, all on
loopback free ports in a temporary folder. The configurations are the repository's own
(monitoring/prometheus.yml, alert_rules.yml, alertmanager.yml): only addresses and timings are
changed (1 s scrape/evaluation, 1 s Alertmanager grouping) so the chain runs in seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from churn.monitoring.decision import ColumnDrift, decide
from churn.monitoring.export import push_metrics
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
DELIVERY_BOUND_S = 90.0


class Receiver:
    """The on-call webhook: keeps every Alertmanager notification it is sent."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        received = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, **json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self, name: str, status: str) -> list[dict[str, Any]]:
        return [
            alert
            for note in list(self.notifications)
            for alert in note["alerts"]
            if alert["labels"].get("alertname") == name and alert["status"] == status
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `bash scripts/install_system_deps.sh`")
    return found


def _wait(check: Callable[[], bool], what: str, timeout_s: float) -> float:
    """Seconds until `check()` held; fails the test after `timeout_s`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"{what} not within {timeout_s:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - started


def _ready(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    return check


@pytest.fixture()
def chain(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Receiver <- Alertmanager <- Prometheus -> Pushgateway, each on its own loopback port."""
    receiver = Receiver()
    am_port, pg_port, prom_port = free_port(), free_port(), free_port()

    am_config = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())
    am_config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    for receiver_config in am_config["receivers"]:
        for hook in receiver_config.get("webhook_configs", []):
            hook["url"] = receiver.url
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(am_config))

    prom_config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    prom_config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    prom_config["rule_files"] = [str(MONITORING / f) for f in prom_config["rule_files"]]
    prom_config["alerting"]["alertmanagers"][0]["static_configs"] = [
        {"targets": [f"127.0.0.1:{am_port}"]}
    ]
    monitoring_job = next(
        j for j in prom_config["scrape_configs"] if j["job_name"] == "churn-monitoring"
    )
    monitoring_job["static_configs"][0]["targets"] = [f"127.0.0.1:{pg_port}"]
    prom_config["scrape_configs"] = [monitoring_job]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prom_config))

    commands = {
        "alertmanager": [
            _binary("prometheus-alertmanager"),
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        "pushgateway": [
            _binary("prometheus-pushgateway"),
            f"--web.listen-address=127.0.0.1:{pg_port}",
        ],
        "prometheus": [
            _binary("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, cmd in commands.items():
            log = (tmp_path / f"{name}.log").open("wb")
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path))
        for port in (am_port, pg_port, prom_port):
            _wait(_ready(f"http://127.0.0.1:{port}/-/ready"), f"port {port} ready", 60)
        yield {
            "receiver": receiver,
            "pushgateway": f"http://127.0.0.1:{pg_port}",
            "prometheus": f"http://127.0.0.1:{prom_port}",
            "logs": tmp_path,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        receiver.close()


def _decision(drifted: int) -> Any:
    columns = [
        ColumnDrift(f"f{i}", "wasserstein", 0.1, 0.4 if i < drifted else 0.01, i < drifted)
        for i in range(19)
    ]
    return decide(columns, None, 0.05, 1000)


def test_a_pushed_drift_gauge_alerts_the_webhook_then_resolves(chain: dict[str, Any]) -> None:
    receiver: Receiver = chain["receiver"]
    drift = _decision(drifted=5)
    assert drift.drift_detected
    push_metrics(chain["pushgateway"], drift)

    took = _wait(
        lambda: bool(receiver.alerts("ChurnDriftDetected", "firing")),
        "the ChurnDriftDetected alert at the webhook",
        DELIVERY_BOUND_S,
    )
    alert = receiver.alerts("ChurnDriftDetected", "firing")[0]
    assert alert["labels"]["severity"] == "warning"
    assert alert["labels"]["platform"] == "churn"  # the external label of prometheus.yml
    assert alert["annotations"]["runbook"] == "docs/prometheus.md#churndriftdetected"
    assert receiver.notifications[0]["receiver"] == "churn-webhook"
    assert receiver.notifications[0]["path"] == "/alerts"
    print(f"drift alert reached the webhook {took:.1f} s after the push (shared machine)")

    calm = _decision(drifted=0)
    assert calm.drift_detected is False
    push_metrics(chain["pushgateway"], calm)
    _wait(
        lambda: bool(receiver.alerts("ChurnDriftDetected", "resolved")),
        "the resolved notification",
        DELIVERY_BOUND_S,
    )


def test_no_drift_raises_no_alert(chain: dict[str, Any]) -> None:
    """The same chain stays quiet for a calm run (so the test above could fail)."""
    push_metrics(chain["pushgateway"], _decision(drifted=0))
    query = f"{chain['prometheus']}/api/v1/query"

    def scraped() -> bool:
        body = requests.get(query, params={"query": "churn_drift_detected"}, timeout=5).json()
        return bool(body["data"]["result"])

    _wait(scraped, "Prometheus scraping the pushed gauge", DELIVERY_BOUND_S)
    time.sleep(5)  # several evaluation and grouping rounds at 1 s
    assert receiver_alerts(chain) == []


def receiver_alerts(chain: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for n in chain["receiver"].notifications for a in n["alerts"]]
