"""promtool against monitoring/prometheus.yml, alert_rules.yml and alert_rules_test.yml, for real.

promtool comes from Debian's `prometheus` package: `bash scripts/install_system_deps.sh`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from churn.monitoring.web_auth import SERVERS, write_secrets

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
CONTRACT = REPO / "docs" / "CONTRACT.md"
ALERTS = {
    "ChurnServiceDown",
    "ChurnHighLatencyP95",
    "ChurnHighErrorRate",
    "ChurnNoPredictions",
    "ChurnDriftDetected",
    "ChurnModelStale",
    "ChurnRealizedRocAucDrop",
    "ChurnEventsLagHigh",
}


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail(
            "promtool is not installed: run `bash scripts/install_system_deps.sh` "
            "(Debian package `prometheus`)"
        )
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_check_config(tmp_path: Path) -> None:
    """As deployed: beside the secrets `churn monitoring-auth` writes (the scrape token file must
    exist), and promtool accepts the web configs it writes; without them the check fails."""
    for name in ("prometheus.yml", "alert_rules.yml"):
        shutil.copy(MONITORING / name, tmp_path / name)
    missing = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert missing.returncode != 0
    assert "secrets/metrics.token" in missing.stdout + missing.stderr
    write_secrets(tmp_path / "secrets", {})
    proc = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
    webs = [f"secrets/{server}.web.yml" for server in SERVERS]
    proc = promtool("check", "web-config", *webs, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_prometheus_sends_credentials_from_files_only() -> None:
    """Each locked server is scraped (and Alertmanager alerted) with basic auth read from
    secrets/; the service with a bearer token file; no password or token inline."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    servers = {"churn-monitoring": "pushgateway", "alertmanager": "alertmanager"}
    for job, server in {**servers, "prometheus": "prometheus"}.items():
        assert jobs[job]["basic_auth"] == {
            "username": "churn",
            "password_file": f"secrets/{server}.password",
        }, job
    assert (
        config["alerting"]["alertmanagers"][0]["basic_auth"] == jobs["alertmanager"]["basic_auth"]
    )
    assert jobs["churn-service"]["authorization"] == {
        "type": "Bearer",
        "credentials_file": "secrets/metrics.token",
    }
    text = (MONITORING / "prometheus.yml").read_text()
    assert not re.search(r"^\s*(password|credentials):", text, re.MULTILINE)


def test_promtool_check_rules() -> None:
    proc = promtool("check", "rules", "alert_rules.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_test_rules() -> None:
    proc = promtool("test", "rules", "alert_rules_test.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def _rules() -> list[dict[str, str]]:
    doc = yaml.safe_load((MONITORING / "alert_rules.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    alerts = {r["alert"] for r in _rules() if "alert" in r}
    assert alerts == ALERTS
    tests = yaml.safe_load((MONITORING / "alert_rules_test.yml").read_text())["tests"]
    firing: set[str] = set()
    silent: set[str] = set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (firing if case["exp_alerts"] else silent).add(case["alertname"])
    assert firing == ALERTS
    assert silent == ALERTS


def test_rules_use_contract_metric_names_and_slo() -> None:
    contract = set(re.findall(r"`((?:bentoml|churn)_[a-z_]+)", CONTRACT.read_text()))
    exprs = " ".join(r["expr"] for r in _rules())
    used = set(re.findall(r"\b((?:bentoml|churn)_[a-z_]+?)(?:_bucket|_count|_sum)?\b", exprs))
    assert used, exprs
    assert used <= contract, used - contract
    by_name = {r.get("alert"): r for r in _rules()}
    assert "0.15" in by_name["ChurnHighLatencyP95"]["expr"] or "0.15" in exprs
    assert "0.01" in by_name["ChurnHighErrorRate"]["expr"]
    assert "churn_drift_detected" in by_name["ChurnDriftDetected"]["expr"]
    assert "churn_model_trained_timestamp_seconds" in by_name["ChurnModelStale"]["expr"]
    assert "churn_realized_degraded" in by_name["ChurnRealizedRocAucDrop"]["expr"]
    assert "churn_events_consumer_lag" in by_name["ChurnEventsLagHigh"]["expr"]


def test_scrape_targets_are_loopback() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets["churn-service"] == ["127.0.0.1:3000"]
    assert targets["churn-flask"] == ["127.0.0.1:5001"]
    assert all(t.startswith("127.0.0.1:") for ts in targets.values() for t in ts)
    assert config["rule_files"] == ["alert_rules.yml"]
