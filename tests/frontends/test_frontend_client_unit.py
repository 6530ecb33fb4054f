"""The service client's error parsing and retry policy (no network needed)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests

from frontends.common.client import ChurnClient, FieldError, parse_rejection


def _response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    r.headers.update(headers or {})
    return r


def test_contract_error_body_becomes_field_errors() -> None:
    body = {
        "error": "invalid input",
        "detail": [{"loc": ["customers", 3, "tenure"], "msg": "must be <= 120"}],
    }
    rejection = parse_rejection(_response(422, body))
    assert rejection.error == "invalid input"
    err = rejection.detail[0]
    assert (err.field, err.row, err.msg) == ("tenure", 3, "must be <= 120")
    assert str(err) == "tenure: must be <= 120"


def test_non_json_error_body_is_kept_as_text() -> None:
    rejection = parse_rejection(_response(400, b"bad things"))
    assert rejection.error == "bad things"
    assert rejection.detail == []


def test_field_error_without_a_named_field() -> None:
    assert FieldError(("body",), "broken").field == ""


def test_retry_after_is_honoured_but_capped() -> None:
    retry = ChurnClient("http://127.0.0.1:1", backoff_s=0.1).retry
    assert retry.parse_retry_after("2") == 2.0
    assert retry.parse_retry_after("600") == 5.0
    assert retry.status_forcelist == (503,) and retry.read is False  # no retry on a read timeout
    assert retry.is_retry("POST", 503) and not retry.is_retry("POST", 422)


class _BusyOnce(BaseHTTPRequestHandler):
    """503 with `Retry-After: 1` on the first request, then the answer."""

    calls: ClassVar[list[float]] = []

    def do_GET(self) -> None:
        self.calls.append(time.monotonic())
        busy = len(self.calls) == 1
        self.send_response(503 if busy else 200)
        if busy:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"overloaded": true}' if busy else b'{"model_version": "7"}')

    def log_message(self, *args: object) -> None:
        pass


def test_a_503_is_retried_after_the_servers_retry_after() -> None:
    _BusyOnce.calls = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _BusyOnce)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        client = ChurnClient(f"http://127.0.0.1:{httpd.server_address[1]}", backoff_s=0.0)
        assert client.model_info() == {"model_version": "7"}
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert len(_BusyOnce.calls) == 2
    assert _BusyOnce.calls[1] - _BusyOnce.calls[0] >= 0.9  # waited for Retry-After, not backoff


def test_chunk_size_is_bounded() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        ChurnClient("http://127.0.0.1:1").predict_many([{}], chunk_size=5000)
