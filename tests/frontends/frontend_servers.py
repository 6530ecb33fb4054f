"""Starting real servers on loopback for the frontend tests: free ports, readiness, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.fixtures.ports import free_port  # noqa: F401  (servers.free_port)

REPO_ROOT = Path(__file__).resolve().parents[2]


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
