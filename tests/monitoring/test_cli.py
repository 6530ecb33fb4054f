"""`churn monitor` argument handling (the runs themselves are in test_pipeline.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from churn.cli import main
from churn.cli.monitor import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("30s", 30), ("15m", 900), ("1h", 3600), ("1.5d", 129600)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1w", "-5m", "2s"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_bad_every_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["monitor", "--every", "soon"])
    assert exc.value.code == 2
    assert "invalid duration 'soon'" in capsys.readouterr().err


def test_missing_config_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitor", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "no such run config" in capsys.readouterr().err


def test_max_runs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--every", "1h", "--max-runs", "0"]) == 2
    assert "--max-runs must be at least 1" in capsys.readouterr().err


def test_summary_out_records_that_nothing_is_in_production(tmp_path: Path) -> None:
    """On a fresh CI runner there is no production model: the drift step says so in the file the
    retrain gate reads, and exits 0; without --summary-out it stays an error."""
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "repo" / ".zen").mkdir(parents=True)
    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "ZENML_REPOSITORY_PATH": str(tmp_path / "repo"),
    }
    churn = [sys.executable, "-m", "churn.cli", "monitor"]
    summary = tmp_path / "out" / "drift_summary.json"
    proc = subprocess.run(
        [*churn, "--summary-out", str(summary)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = json.loads(summary.read_text())
    assert written["drift_detected"] is False and written["production_version"] is None
    assert "no production version" in written["reasons"][0]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == written
    plain = subprocess.run(churn, env=env, capture_output=True, text=True, timeout=300)
    assert plain.returncode == 1 and "no production version" in plain.stderr
