"""The guard's pure parts (bentos/middleware.py, bentos/auth.py) driven through ASGI calls."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bentos import middleware
from bentos.auth import Denied, TokenAuth, canonical, needed_scope
from bentos.service import ROUTES
from churn.db import tokens

SCOPES = ROUTES.scopes()


def test_canonical_paths_close_the_slash_and_dot_tricks() -> None:
    for path in ("/predict", "//predict", "/predict/", "/./predict", "///predict//.//"):
        assert canonical(path) == "/predict"
        assert needed_scope(path, False, SCOPES) == "predict"
    assert needed_scope("/admin/x/../y", False, SCOPES) == "admin"
    assert needed_scope("/outcomes/", False, SCOPES) == "admin"
    assert needed_scope("/administrator", False, SCOPES) == "predict"  # not /admin: closed
    assert needed_scope("/metrics", False, SCOPES) is None
    assert needed_scope("/metrics", True, SCOPES) == "predict"
    assert needed_scope("/readyz", True, SCOPES) is None
    assert needed_scope("/./livez/", True, SCOPES) is None


def test_duplicate_keys_and_deep_nesting_are_refused_at_any_depth() -> None:
    assert middleware.strict_json(b'{"a": 1, "b": {"c": 1}}')[1] is None
    dup = middleware.strict_json(b'{"a": [{"x": 1, "y": 2, "x": 3}]}')[1]
    assert dup is not None and json.loads(dup)["detail"][0]["loc"] == ["body", "x"]
    deep = middleware.strict_json(b"[" * 100_000 + b"]" * 100_000)[1]
    assert deep is not None and b"nested too deeply" in deep
    bad = middleware.strict_json(b"{bad json")[1]  # named with its position
    assert bad is not None and json.loads(bad)["detail"][0]["loc"] == ["body"]


def _drive(guard: middleware.ContractGuard, scope: dict[str, Any], chunks: list[bytes]) -> Any:
    sent: list[dict[str, Any]] = []
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        more = reads < len(chunks)
        return {"type": "http.request", "body": chunks[reads - 1], "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent, reads


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/predict", "headers": headers}


def test_a_chunked_flood_is_cut_as_it_streams_inside_the_in_flight_count() -> None:
    seen_in_flight: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never reached
        raise AssertionError("the app must not see the body")

    guard = middleware.ContractGuard(app, ROUTES, max_in_flight=4, auth=None)
    chunk = b" " * (1024 * 1024)
    chunks = [chunk] * 100  # 100 MB offered

    original = middleware._read_body

    async def spy(receive: Any) -> Any:
        seen_in_flight.append(guard.in_flight)
        return await original(receive)

    middleware._read_body = spy  # type: ignore[assignment]
    try:
        sent, reads = _drive(guard, _scope([(b"content-type", b"application/json")]), chunks)
    finally:
        middleware._read_body = original  # type: ignore[assignment]
    assert sent[0]["status"] == 413
    assert reads == middleware.MAX_BODY_BYTES // len(chunk) + 1  # stopped at the limit
    assert seen_in_flight == [1] and guard.in_flight == 0


def test_bounded_answers_from_inside_keep_their_status() -> None:
    detail = [{"loc": ["customers", i, "tenure"], "msg": "bad"} for i in range(1000)]
    body = json.dumps({"error": "invalid", "detail": detail}).encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 422, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    guard = middleware.ContractGuard(app, ROUTES, max_in_flight=256, auth=None)
    sent, _ = _drive(guard, _scope([]), [b'{"customers": []}'])
    assert sent[0]["status"] == 422
    out = json.loads(sent[1]["body"])
    assert len(out["detail"]) == 21
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(sent[1]["body"])).encode()


def test_token_auth_reloads_and_keeps_the_last_set_when_the_database_fails(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    token = tokens.create("svc", "predict", actor="tests", url=url)
    auth = TokenAuth(url, refresh_s=60, scopes=SCOPES)
    auth.start()
    try:
        auth.check("/predict", f"Bearer {token}")
        with pytest.raises(Denied) as denied:
            auth.check("/outcomes", f"Bearer {token}")
        assert denied.value.status == 403
        tokens.revoke("svc", actor="tests", url=url)
        auth.check("/predict", f"Bearer {token}")  # still cached: the refresh bound applies
        auth.reload()
        with pytest.raises(Denied) as gone:
            auth.check("/predict", f"Bearer {token}")
        assert gone.value.status == 401
        second = tokens.create("svc2", "admin", actor="tests", url=url)
        auth.reload()
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("drop table api_tokens"))
        engine.dispose()
        auth.reload()
        assert auth.reload_errors == 1
        auth.check("/admin/reload", f"Bearer {second}")  # the last known set stays
    finally:
        auth.stop()
