"""The two session plugins, run in a child pytest on temporary folders: the state guard fails a
leaky session, and a skip fails unless CHURN_ALLOW_SKIPS=1 opts out (then it is counted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LEAKY = '''
import subprocess, sys
from pathlib import Path

import pytest


@pytest.fixture()
def leaky_zen_config():
    """Writes the checkout's ZenML repository config from a subprocess, as a careless test would."""
    root = Path(__import__("os").environ["CHURN_STATE_GUARD_ROOT"])
    code = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('active_stack_id: x')"
    subprocess.run([sys.executable, "-c", code, str(root / ".zen" / "config.yaml")], check=True)


def test_leaks(leaky_zen_config):
    assert True
'''

CLEAN = """
def test_clean(tmp_path):
    (tmp_path / "x").write_text("mine")
"""

SKIPPING = """
import pytest


def test_needs_a_tool():
    pytest.skip("/usr/bin/some-tool missing")


def test_runs():
    assert 1 + 1 == 2
"""


def run_child(tmp_path: Path, body: str, **env: str) -> subprocess.CompletedProcess[str]:
    checkout, home = tmp_path / "checkout", tmp_path / "home"
    (checkout / ".zen").mkdir(parents=True, exist_ok=True)
    (checkout / ".zen" / "config.yaml").write_text("active_stack_id: users-own\n")
    (home / ".config" / "zenml").mkdir(parents=True, exist_ok=True)
    tests = tmp_path / "child"
    tests.mkdir(exist_ok=True)
    (tests / "test_child.py").write_text(body)
    child_env = {
        **{k: v for k, v in os.environ.items() if k != "CHURN_ALLOW_SKIPS"},
        "CHURN_STATE_GUARD_ROOT": str(checkout),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # only the two plugins under test
        **env,
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.fixtures.state_guard",
            "-p",
            "tests.fixtures.skip_policy",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(tests),
            str(tests),
        ],
        cwd=tests,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_state_guard_fails_a_leaky_session(tmp_path: Path) -> None:
    proc = run_child(tmp_path, LEAKY)
    assert "1 passed" in proc.stdout  # the test itself passes: only the guard can fail the run
    assert proc.returncode == 1, proc.stdout
    assert "STATE GUARD FAILED" in proc.stdout
    assert f"modified: {tmp_path / 'checkout' / '.zen' / 'config.yaml'}" in proc.stdout


def test_state_guard_passes_a_clean_session(tmp_path: Path) -> None:
    proc = run_child(tmp_path, CLEAN)
    assert proc.returncode == 0, proc.stdout
    assert "STATE GUARD" not in proc.stdout


def test_a_skip_is_a_failure_by_default(tmp_path: Path) -> None:
    proc = run_child(tmp_path, SKIPPING)
    assert proc.returncode == 1, proc.stdout
    assert "1 failed, 1 passed" in proc.stdout
    assert "some-tool missing" in proc.stdout and "CHURN_ALLOW_SKIPS=1" in proc.stdout


def test_allowed_skips_are_counted_with_their_reason(tmp_path: Path) -> None:
    proc = run_child(tmp_path, SKIPPING, CHURN_ALLOW_SKIPS="1")
    assert proc.returncode == 0, proc.stdout
    assert "1 passed, 1 skipped" in proc.stdout
    assert "1 skipped because CHURN_ALLOW_SKIPS=1" in proc.stdout
    assert "1 x /usr/bin/some-tool missing" in proc.stdout
