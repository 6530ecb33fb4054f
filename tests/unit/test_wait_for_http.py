"""tests/fixtures/http.py, the one wait-for-HTTP helper, against a real loopback server."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.fixtures.http import answers, wait_for_http
from tests.fixtures.ports import free_port


class _WarmingUp(BaseHTTPRequestHandler):
    """503 for the first two requests, then 200 with a body naming the call."""

    calls: ClassVar[int] = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        ready = self.calls > 2
        self.send_response(200 if ready else 503)
        self.end_headers()
        self.wfile.write(f"call {self.calls}".encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def warming_up() -> Iterator[str]:
    _WarmingUp.calls = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _WarmingUp)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/readyz"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_waits_until_the_expected_status(warming_up: str) -> None:
    assert not answers(warming_up)
    response = wait_for_http(warming_up, 10, interval_s=0.05)
    assert response.text == "call 3"


def test_accept_can_ask_for_more_than_the_status(warming_up: str) -> None:
    response = wait_for_http(warming_up, 10, accept=lambda r: r.text == "call 4", interval_s=0.05)
    assert response.text == "call 4"


def test_times_out_naming_the_last_answer(warming_up: str) -> None:
    with pytest.raises(TimeoutError, match=r"not ready after 0.2 s \(HTTP (503|200)\)"):
        wait_for_http(warming_up, 0.2, expect_status=204, interval_s=0.05)


def test_a_dead_server_fails_at_once_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("boom: port in use\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait(10)
    url = f"http://127.0.0.1:{free_port()}/readyz"
    with pytest.raises(RuntimeError, match=r"exited with 3[\s\S]*boom: port in use"):
        wait_for_http(url, 60, process=proc, log=log)
