"""mk/stacks.mk and mk/monitoring_rules.mk: the targets exist and call what the docs say
(`make -n`, nothing is run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def dry_run(target: str, *variables: str) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is required")
    proc = subprocess.run(
        [make, "-n", "-f", "Makefile", target, "CHURN=churn-cli", *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_stack_local_applies_the_local_stack() -> None:
    assert "churn-cli stack apply local" in dry_run("stack-local")


def test_stack_check_passes_env_and_kubeconfig() -> None:
    out = dry_run("stack-check", "ENV=kubernetes", "KUBECONFIG=/k/config")
    assert "churn-cli stack check kubernetes --kubeconfig /k/config" in out


def test_staging_up_starts_loopback_servers_with_pid_files() -> None:
    out = dry_run("staging-up")
    assert "mlflow server --host 127.0.0.1 --port 5050" in out
    assert "mlflow.pid" in out
    assert "zenml login --local --ip-address 127.0.0.1 --port 8237" in out
    assert "0.0.0.0" not in out


def test_staging_down_stops_by_pid() -> None:
    out = dry_run("staging-down")
    assert "zenml logout --local" in out
    assert "zenml mlflow" in out and ".pid" in out


def test_prometheus_rules_target_runs_all_three_promtool_checks() -> None:
    out = dry_run("prometheus-rules-test")
    for command in (
        "check config prometheus.yml",
        "check rules alert_rules.yml",
        "test rules alert_rules_test.yml",
    ):
        assert command in out


def test_stack_ci_applies_the_teams_stack_and_refuses_the_runners_own() -> None:
    assert "churn-cli stack apply staging" in dry_run("stack-ci", "STACK=staging")
    env = {k: v for k, v in os.environ.items() if k != "ZENML_STORE_URL"}
    for variables, extra, message in (
        (["STACK=local"], {"ZENML_STORE_URL": "http://z"}, "local is for laptops"),
        (["STACK=staging"], {}, "ZENML_STORE_URL is empty"),
    ):
        proc = subprocess.run(
            ["make", "--no-print-directory", "-f", "Makefile", "stack-ci", *variables],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            env={**env, **extra},
        )
        assert proc.returncode != 0 and message in proc.stdout, proc.stdout + proc.stderr
