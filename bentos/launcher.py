"""Start and stop `bentoml serve` for tests and benchmarks: free port, wait for /readyz, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICE = "bentos.service:ChurnService"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningService:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 60.0) -> int:
        """Graceful stop (SIGTERM to the whole process group), SIGKILL only after `timeout`."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return int(self.process.returncode)


def start_service(
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    log_path: Path | None = None,
    timeout: float = 180.0,
    target: str = SERVICE,
) -> RunningService:
    """`bentoml serve` from the repo root on 127.0.0.1; returns once /readyz answers 200."""
    port = port or free_port()
    log_path = log_path or Path(f"/tmp/churn-service-{port}.log")
    full_env = {**os.environ, **(env or {}), "BENTOML_DO_NOT_TRACK": "True"}
    bentoml = Path(sys.executable).with_name("bentoml")
    cmd = [str(bentoml), "serve", target, "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = RunningService(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bentoml serve exited early:\n{service.log_tail()}")
        if service.is_ready():
            return service
        time.sleep(0.5)
    service.stop()
    raise TimeoutError(f"service not ready in {timeout}s:\n{service.log_tail()}")
