"""The service client's error parsing and retry policy (no network needed)."""

from __future__ import annotations

import json

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
    client = ChurnClient("http://127.0.0.1:1", backoff_s=0.1)
    assert client._delay(0, "2") == 2.0
    assert client._delay(0, "600") == 5.0
    assert client._delay(2, None) == pytest.approx(0.4)


def test_chunk_size_is_bounded() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        ChurnClient("http://127.0.0.1:1").predict_many([{}], chunk_size=5000)
