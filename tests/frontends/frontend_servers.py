"""Starting real servers on loopback for the frontend tests: free ports, readiness, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import requests

from tests.fixtures.ports import free_port  # noqa: F401  (servers.free_port)

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `url` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def start(
    cmd: Sequence[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in its own process group (so stop() ends its workers too)."""
    handle = log.open("wb")
    return subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def save_test_model(rows: int = 3000, seed: int = 3) -> str:
    """The shipped family, built by the pipeline's candidate factory on generated customers and
    saved to BENTOML_HOME (tests/fixtures/promotable.py) with the card the pages show."""
    from churn.generator import generate
    from tests.fixtures.promotable import SHIPPED_FAMILY, save_candidate

    model = save_candidate(
        SHIPPED_FAMILY,
        generate(rows, seed=seed),
        version="7",
        threshold=0.4,
        extra_metrics={"recall": 0.71, "precision": 0.55},
        also_considered=("hist_gradient_boosting",),
    )
    return str(model.tag)
