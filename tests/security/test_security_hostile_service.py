"""The hostile-input suite against the live service: every case gets a 4xx JSON body in the
contract's shape that names the field or header at fault, never a 5xx or a traceback; afterwards
the service is still ready and every accepted prediction is in the prediction log.

One service for the module (1 worker); cases are plain data so each is named in the report.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES
from tests.fixtures.launcher import RunningService

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

MB = 1024 * 1024


@dataclass
class Case:
    body: bytes | Callable[[], Iterator[bytes]] = b""
    path: str = "/predict"
    headers: dict[str, str] = field(default_factory=dict)
    names: str = ""
    """Text the error detail must contain (a field, header or 'body'); '' to skip the check."""
    status: tuple[int, ...] = (400, 422)
    method: str = "POST"
    auth: bool = True


def record(**changes: Any) -> dict[str, Any]:
    out = dict(EXAMPLE_RECORD)
    for key, value in changes.items():
        if value is ...:
            out.pop(key)
        else:
            out[key] = value
    return out


def one(**changes: Any) -> bytes:
    return json.dumps({"customer": record(**changes)}).encode()


def raw_one(field_name: str, literal: str) -> bytes:
    """A record whose `field_name` is the raw JSON text `literal` (NaN, duplicates, ...)."""
    text = json.dumps({"customer": record(**{field_name: "__X__"})})
    return text.replace('"__X__"', literal).encode()


def flood(total: int, chunk: int = 64 * 1024) -> Callable[[], Iterator[bytes]]:
    def gen() -> Iterator[bytes]:
        sent = 0
        while sent < total:
            yield b" " * chunk
            sent += chunk

    return gen


CASES: dict[str, Case] = {}

# ---- wrong types, per field (strict numbers and booleans) -----------------------------------
WRONG_TYPES: dict[str, list[tuple[str, Any]]] = {
    "tenure": [
        ("string", "12"),
        ("float", 12.0),
        ("bool", True),
        ("null", None),
        ("list", [12]),
        ("object", {"v": 12}),
        ("negative", -1),
        ("huge", 10**30),
        ("fraction", 12.5),
    ],
    "SeniorCitizen": [("string", "1"), ("bool", True), ("float", 1.0), ("two", 2), ("neg", -1)],
    "MonthlyCharges": [
        ("string", "29.85"),
        ("bool", False),
        ("negative", -0.01),
        ("too large", 1e9),
        ("list", [1.0]),
    ],
    "TotalCharges": [("string", "x"), ("null", None), ("negative", -5.0), ("object", {})],
    "gender": [
        ("int", 1),
        ("empty", ""),
        ("lower case", "female"),
        ("padded", "Male "),
        ("fullwidth", "Ｍａｌｅ"),
        ("nul byte", "Male\u0000"),
        ("formula", "=1+1"),
        ("html", "<script>alert(1)</script>"),
        ("long", "M" * 100_000),
    ],
    "Contract": [("unknown", "Weekly"), ("bool", True), ("formula", "@SUM(A1)")],
    "PaymentMethod": [("sql", "'; DROP TABLE prediction_log; --"), ("list", ["Mailed check"])],
    "customerID": [("too long", "7" * 65), ("int", 7590), ("object", {"id": 1})],
}
for name, variants in WRONG_TYPES.items():
    for label, value in variants:
        CASES[f"{name} {label}"] = Case(one(**{name: value}), names=name)
for name in FEATURE_NAMES:
    CASES[f"missing {name}"] = Case(one(**{name: ...}), names=name)

# ---- NaN and infinity (not JSON; Python's parser accepts them) -------------------------------
for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
    for name in ("MonthlyCharges", "TotalCharges", "tenure"):
        CASES[f"{name} {literal}"] = Case(raw_one(name, literal), names=name)

# ---- duplicate keys -------------------------------------------------------------------------
CASES["duplicate field"] = Case(raw_one("tenure", '1, "tenure": 70'), names="tenure")
CASES["duplicate customer"] = Case(
    b'{"customer": ' + json.dumps(EXAMPLE_RECORD).encode() + b', "customer": {}}', names="customer"
)
dup_batch = json.dumps({"customers": [EXAMPLE_RECORD]}).replace(
    '"gender": "Female"', '"gender": "Female", "gender": "Male"'
)
CASES["duplicate in batch"] = Case(dup_batch.encode(), path="/predict_batch", names="gender")
CASES["duplicate explain"] = Case(
    raw_one("gender", '"Male", "gender": "Female"'), path="/explain", names="gender"
)

# ---- unknown and huge keys, bounded error lists ------------------------------------------------
CASES["unknown key"] = Case(one(shoe_size=44), names="shoe_size")
CASES["huge key"] = Case(one(**{"k" * 200_000: 1}), names="kkkk")
CASES["case variant key"] = Case(one(Tenure=12), names="Tenure")
CASES["500 unknown keys"] = Case(one(**{f"extra{i}": i for i in range(500)}), names="more errors")
CASES["30000 unknown keys"] = Case(
    one(**{f"extra{i}": i for i in range(30_000)}), names="more errors"
)
CASES["1000 bad records"] = Case(
    json.dumps({"customers": [record(tenure="x")] * 1000}).encode(),
    path="/predict_batch",
    names="more errors",
)

# ---- shape and nesting ----------------------------------------------------------------------
CASES["deeply nested lists"] = Case(b"[" * 200_000 + b"]" * 200_000, names="body")
CASES["deeply nested objects"] = Case(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, names="body")
CASES["nested in a field"] = Case(
    one(tenure=json.loads('{"a":' * 50 + "1" + "}" * 50)), names="tenure"
)
CASES["body is a string"] = Case(b'"customer"', names="")
CASES["body is a number"] = Case(b"12", names="")
CASES["body is null"] = Case(b"null", names="")
CASES["customer is a list"] = Case(
    json.dumps({"customer": [EXAMPLE_RECORD]}).encode(), names="customer"
)
CASES["empty batch"] = Case(b'{"customers": []}', path="/predict_batch", names="customers")
CASES["1001 records"] = Case(
    json.dumps({"customers": [EXAMPLE_RECORD] * 1001}).encode(),
    path="/predict_batch",
    names="customers",
)
CASES["batch of strings"] = Case(
    b'{"customers": ["a", "b"]}', path="/predict_batch", names="customers"
)
CASES["inconsistent add-ons"] = Case(one(InternetService="No"), names="OnlineBackup")

# ---- bytes and encodings --------------------------------------------------------------------
CASES["truncated json"] = Case(b'{"customer": {', names="")
CASES["invalid utf-8"] = Case(b'{"customer": "\xff\xfe"}', names="")
CASES["utf-8 bom"] = Case(b"\xef\xbb\xbf" + one(), names="")
CASES["lone surrogate"] = Case(raw_one("gender", '"\\ud800"'), names="Invalid JSON")
CASES["nul bytes"] = Case(b"\x00" * 1000, names="")
CASES["trailing garbage"] = Case(one() + b" trailing", names="")

# ---- sizes ----------------------------------------------------------------------------------
CASES["5 MB body"] = Case(b"{" + b" " * (5 * MB) + b"}", names="body", status=(413,))
CASES["chunked 6 MB flood"] = Case(flood(6 * MB), names="body", status=(413,))
CASES["chunked slow small"] = Case(lambda: iter([one()[:10], b"garbage"]), names="")
CASES["content-length lies big"] = Case(
    b"{}", headers={"Content-Length": str(50 * MB)}, names="body", status=(413,)
)

# ---- content types and headers --------------------------------------------------------------
for ctype in (
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "image/png",
):
    CASES[f"content-type {ctype.split(';')[0]}"] = Case(
        one(), headers={"Content-Type": ctype}, names="content-type", status=(415,)
    )
CASES["gzip body"] = Case(
    b"\x1f\x8b\x08\x00",
    headers={"Content-Encoding": "gzip"},
    names="content-encoding",
    status=(415,),
)
# (a Content-Length that is not a number never reaches the app: uvicorn's HTTP parser answers a
# plain-text 400 itself; docs/security.md says so)
CASES["content-type huge"] = Case(
    one(), headers={"Content-Type": "x" * 4000}, names="content-type", status=(415,)
)
CASES["get on predict"] = Case(method="GET", names="method", status=(405,))
CASES["put on batch"] = Case(method="PUT", path="/predict_batch", names="method", status=(405,))
CASES["put on model_info"] = Case(
    b"{}", method="PUT", path="/model_info", names="method", status=(405,)
)  # GET, and POST for BentoML's clients

# ---- auth bypass attempts -------------------------------------------------------------------
AUTH_ATTEMPTS = {
    "no token": {},
    "empty bearer": {"Authorization": "Bearer "},
    "bearer null": {"Authorization": "Bearer null"},
    "basic admin": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "token in query": {},
    "huge token": {"Authorization": "Bearer " + "a" * 10_000},
    "sql in token": {"Authorization": "Bearer ' OR '1'='1"},
    "two tokens": {"Authorization": "Bearer a, Bearer b"},
    "x-api-key instead": {"X-Api-Key": "anything"},
    "forwarded as admin": {"X-Forwarded-User": "admin", "X-Remote-User": "admin"},
}
for label, headers in AUTH_ATTEMPTS.items():
    CASES[f"auth {label}"] = Case(
        one(),
        headers=headers,
        names="authorization",
        status=(401,),
        auth=False,
        path="/predict?token=x" if label == "token in query" else "/predict",
    )
for path in ("//predict", "/predict/", "/./predict", "//predict_batch//", "/explain/."):
    CASES[f"auth path {path}"] = Case(
        one(), path=path, names="authorization", status=(401,), auth=False
    )
CASES["auth outcomes"] = Case(
    b"{}", path="/outcomes", names="authorization", status=(401,), auth=False
)
CASES["auth admin"] = Case(
    b"{}", path="/admin/reload", names="authorization", status=(401,), auth=False
)


@pytest.fixture(scope="module")
def hostile(start: Callable[..., RunningService]) -> RunningService:
    return start(f"hostile-{os.getpid()}")


def send(service: RunningService, case: Case) -> tuple[int, dict[str, str], bytes]:
    """The case over a raw HTTP/1.1 connection (requests would fix some of the abuse)."""
    parts = urlsplit(service.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Content-Type": "application/json", **(service.headers if case.auth else {})}
    headers.update(case.headers)
    try:
        if callable(case.body):
            conn.putrequest(case.method, case.path)
            for key, value in headers.items():
                conn.putheader(key, value)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                for chunk in case.body():
                    conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused mid-stream: the answer is already there
        elif "Content-Length" in case.headers:
            conn.putrequest(case.method, case.path, skip_accept_encoding=True)
            for key, value in headers.items():
                conn.putheader(key, value)
            conn.endheaders()
            conn.send(case.body)
        else:
            conn.request(case.method, case.path, body=case.body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_the_suite_has_at_least_100_service_cases() -> None:
    assert len(CASES) >= 100, len(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_gets_a_4xx_json_naming_the_fault(hostile: RunningService, name: str) -> None:
    case = CASES[name]
    status, headers, raw = send(hostile, case)
    assert status in case.status, (status, raw[:500])
    assert headers.get("content-type", "").startswith("application/json"), raw[:300]
    assert len(raw) < 64 * 1024, f"an error body of {len(raw)} bytes"
    text = raw.decode("utf-8", "replace")
    assert "Traceback" not in text and 'File "' not in text
    body = json.loads(raw)
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], list) and 1 <= len(body["detail"]) <= 21
    assert all({"loc", "msg"} <= set(d) for d in body["detail"])
    assert all(len(json.dumps(d)) < 2000 for d in body["detail"]), "an echoed value too long"
    if case.names:
        assert case.names in json.dumps(body["detail"]), body


def _rows(service: RunningService) -> int:
    engine = sa.create_engine(f"sqlite:///{service.log_path.with_suffix('.db')}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("select count(*) from prediction_log")).scalar_one())
    finally:
        engine.dispose()


def test_after_the_suite_the_service_is_ready_and_lost_no_row(hostile: RunningService) -> None:
    for name in list(CASES)[::7]:  # the abuse again, between valid predictions
        send(hostile, CASES[name])
        ok = requests.post(
            f"{hostile.url}/predict",
            json={"customer": EXAMPLE_RECORD},
            headers=hostile.headers,
            timeout=30,
        )
        assert ok.status_code == 200, ok.text
    batch = requests.post(
        f"{hostile.url}/predict_batch",
        json={"customers": [EXAMPLE_RECORD] * 10},
        headers=hostile.headers,
        timeout=30,
    )
    assert batch.status_code == 200
    assert requests.get(f"{hostile.url}/readyz", timeout=10).status_code == 200
    expected = len(list(CASES)[::7]) + 10
    deadline = time.monotonic() + 30
    while _rows(hostile) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _rows(hostile) == expected  # nothing else was logged, nothing accepted was lost
