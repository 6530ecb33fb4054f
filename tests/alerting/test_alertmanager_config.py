"""The Alertmanager configurations pass `amtool check-config`, Prometheus sends its alerts to
Alertmanager, and every alert the rules can raise has a receiver (no route ends nowhere)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
CONFIGS = ["alertmanager.yml", "alertmanager.slack-email.example.yml"]


def _amtool() -> str:
    binary = shutil.which("amtool")
    if binary is None:
        pytest.fail("amtool is not installed: run `bash scripts/install_system_deps.sh`")
    return binary


@pytest.mark.parametrize("name", CONFIGS)
def test_amtool_accepts_the_config(name: str) -> None:
    proc = subprocess.run(
        [_amtool(), "check-config", str(MONITORING / name)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_amtool_rejects_a_route_to_an_unknown_receiver(tmp_path: Path) -> None:
    """The check above can fail: a dangling receiver name is caught."""
    config = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())
    config["route"]["routes"][0]["receiver"] = "nobody"
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [_amtool(), "check-config", str(tmp_path / "broken.yml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "nobody" in proc.stdout + proc.stderr


def test_prometheus_sends_alerts_to_the_local_alertmanager() -> None:
    prometheus = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = [
        t
        for am in prometheus["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for t in sc["targets"]
    ]
    assert targets == ["127.0.0.1:9093"]


@pytest.mark.parametrize("name", CONFIGS)
def test_every_alert_of_the_rules_reaches_a_receiver_with_a_webhook(name: str) -> None:
    """Each alert's labels, routed with `amtool config routes test`, land on receivers of which
    at least one posts to a webhook (the channel the integration test checks)."""
    config = yaml.safe_load((MONITORING / name).read_text())
    webhooks = {r["name"] for r in config["receivers"] if r.get("webhook_configs")}
    rules = yaml.safe_load((MONITORING / "alert_rules.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert alerts
    for rule in alerts:
        labels = [f"alertname={rule['alert']}", f"severity={rule['labels']['severity']}"]
        proc = subprocess.run(
            [_amtool(), "config", "routes", "test", f"--config.file={MONITORING / name}",
             *labels],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        receivers = set(proc.stdout.strip().split(","))
        assert receivers & webhooks, f"{rule['alert']} goes to {receivers}, none has a webhook"
