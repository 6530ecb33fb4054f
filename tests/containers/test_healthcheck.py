"""docker/healthcheck.py, the HEALTHCHECK command of every image, against a real loopback server."""

from __future__ import annotations

import base64
import importlib.util
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "healthcheck.py"
pytestmark = pytest.mark.timeout(60)


LOCKED = "Basic " + base64.b64encode(b"churn:pw-1").decode()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/locked":  # like the monitoring servers' --web.config.file
            self.send_response(200 if self.headers.get("Authorization") == LOCKED else 401)
            self.end_headers()
            return
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()


def check(path: str, env: dict[str, str], *more: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(SCRIPT), path, "--port-env", "PORT", "--port-env", "BENTOML_PORT"]
    args += more
    return subprocess.run(
        [*args, "--default-port", "9"], env=env, capture_output=True, text=True, timeout=30
    )


def test_healthy_when_the_endpoint_answers_2xx(server: int) -> None:
    assert check("/readyz", {"BENTOML_PORT": str(server), "HOST": "0.0.0.0"}).returncode == 0


def test_unhealthy_on_5xx_and_on_a_closed_port(server: int) -> None:
    failing = check("/other", {"BENTOML_PORT": str(server)})
    assert failing.returncode == 1 and "503" in failing.stderr
    closed = check("/readyz", {})  # default port 9: nothing listens there
    assert closed.returncode == 1 and "127.0.0.1:9" in closed.stderr


def test_port_env_order_and_host() -> None:
    spec = importlib.util.spec_from_file_location("healthcheck", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    env_first = {"PORT": "4000", "BENTOML_PORT": "3000", "HOST": "10.1.2.3"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env_first.items():
            mp.setenv(key, value)
        assert module.target_url("/x", ["PORT", "BENTOML_PORT"], 1) == "http://10.1.2.3:4000/x"
        mp.delenv("PORT")
        mp.setenv("HOST", "::")
        assert module.target_url("/x", ["PORT", "BENTOML_PORT"], 1) == "http://127.0.0.1:3000/x"


def test_basic_auth_from_a_password_file(server: int, tmp_path: Path) -> None:
    """Prometheus, Alertmanager and the Pushgateway answer 401 without credentials."""
    env = {"BENTOML_PORT": str(server)}
    anonymous = check("/locked", env)
    assert anonymous.returncode == 1 and "401" in anonymous.stderr
    (tmp_path / "pw").write_text("pw-1\n")
    assert check("/locked", env, "--password-file", str(tmp_path / "pw")).returncode == 0
    (tmp_path / "wrong").write_text("pw-2")
    assert check("/locked", env, "--password-file", str(tmp_path / "wrong")).returncode == 1
