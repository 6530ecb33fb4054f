"""`make load-test` (Locust, headless, bounded) against the live service, and its SLO check both
ways: met under the shipped thresholds, broken once a threshold is set below what was measured."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.launcher import REPO_ROOT, StartService

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
SLO = REPO_ROOT / "load_tests" / "slo.yaml"


def _stats(csv_path: Path) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(REPO_ROOT / "load_tests"))
    try:
        from check_slo import read_stats
    finally:
        sys.path.remove(str(REPO_ROOT / "load_tests"))
    return read_stats(csv_path)


@pytest.fixture(scope="module")
def load_run(start: StartService, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One bounded `make load-test` run (16 users, 8 s) against the service as shipped (2
    workers); its reports folder and output."""
    service = start("load-test", CHURN_SERVICE_WORKERS="2")
    make = shutil.which("make")
    assert make is not None, "make is required"
    reports = tmp_path_factory.mktemp("load-test-reports")
    venv = Path(sys.executable).parent.parent
    cmd = [
        make, "-C", str(REPO_ROOT), "--no-print-directory", "load-test",
        "-o", f"{venv}/.synced",  # never re-sync the venv from a test
        f"VENV={venv}", f"CHURN_SERVICE_URL={service.url}", f"CHURN_REPORTS_DIR={reports}",
        "LOAD_USERS=16", "LOAD_SPAWN_RATE=16", "LOAD_DURATION=8s",
    ]  # fmt: skip
    env = {**os.environ, "CHURN_API_TOKEN": service.token or ""}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    return reports, output


def test_load_test_meets_the_shipped_slo(load_run: tuple[Path, str]) -> None:
    reports, output = load_run
    assert "SLO: met" in output
    stats = _stats(reports / "load_test_stats.csv")
    for key in ("POST /predict", "POST /predict_batch", "GET /model_info"):
        assert stats[key]["requests"] > 0, key
    assert stats["Aggregated"]["failures"] == 0
    assert (reports / "load_test.html").stat().st_size > 0


def test_slo_check_fails_when_a_threshold_is_below_the_measurement(
    load_run: tuple[Path, str], tmp_path: Path
) -> None:
    reports, _ = load_run
    stats_csv = reports / "load_test_stats.csv"
    measured = _stats(stats_csv)["Aggregated"]
    slo = yaml.safe_load(SLO.read_text())
    slo["aggregate"]["max_p95_ms"] = measured["p95"] / 2
    tight = tmp_path / "tight.yaml"
    tight.write_text(yaml.safe_dump(slo))
    check = [sys.executable, str(REPO_ROOT / "load_tests" / "check_slo.py"), str(stats_csv)]
    shipped = subprocess.run([*check, str(SLO)], capture_output=True, text=True, timeout=60)
    broken = subprocess.run([*check, str(tight)], capture_output=True, text=True, timeout=60)
    assert shipped.returncode == 0, shipped.stdout
    assert broken.returncode == 1, broken.stdout
    assert "SLO BREACH: Aggregated: p95 ms" in broken.stdout and "max_p95_ms" in broken.stdout
    assert "SLO: broken" in broken.stdout
