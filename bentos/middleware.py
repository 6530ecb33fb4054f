"""ASGI guard in front of the API: methods, body limits, content types and overload.

BentoML's own `max_concurrency` answers 429 and sits outside user middleware, so the contract's
"503 with Retry-After under overload" is done here: a per-worker in-flight limit, plus a
Retry-After header on any 503 from inside (the adaptive batcher sheds load with 503).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 4 * 1024 * 1024
"""1,000 records are ~0.6 MB of JSON; anything far above that is refused before parsing."""
RETRY_AFTER_S = "1"
API_METHODS = {
    "/predict": "POST",
    "/predict_batch": "POST",
    "/explain": "POST",
    "/model_info": "GET",
}
"""Each contract route and its one method; anything else on these paths is a contract 405."""
JSON_TYPES = frozenset({"application/json", ""})


def error_body(error: str, loc: list[Any], msg: str) -> bytes:
    """The contract's error shape: {"error": str, "detail": [{"loc": [...], "msg": str}]}."""
    return json.dumps({"error": error, "detail": [{"loc": loc, "msg": msg}]}).encode()


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    base = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": base + (headers or [])})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


class ContractGuard:
    """Pure ASGI middleware (no body copies on the hot path)."""

    def __init__(self, app: ASGIApp, max_in_flight: int = 256) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        allowed = API_METHODS.get(path)
        if scope["type"] != "http" or allowed is None:
            await self.app(scope, receive, send)
            return
        if scope.get("method", "GET") != allowed:
            body = error_body("method not allowed", ["method"], f"{path} accepts {allowed}")
            await send_json(send, 405, body, [(b"allow", allowed.encode())])
            return
        if allowed == "GET":
            await self.app(scope, receive, send)
            return
        problem = self._request_problem(scope)
        if problem is not None:
            status, body = problem
            await send_json(send, status, body)
            return
        if self.in_flight >= self.max_in_flight:
            body = error_body("overloaded", [], "too many requests in flight; retry later")
            await send_json(send, 503, body, [(b"retry-after", RETRY_AFTER_S.encode())])
            return
        if not _header(scope, b"content-length"):
            buffered = await _buffer_body(receive)
            if buffered is None:
                msg = f"max {MAX_BODY_BYTES} bytes"
                await send_json(send, 413, error_body("request body too large", ["body"], msg))
                return
            receive = buffered
        self.in_flight += 1
        try:
            await self.app(scope, receive, _with_retry_after(send))
        finally:
            self.in_flight -= 1

    @staticmethod
    def _request_problem(scope: Scope) -> tuple[int, bytes] | None:
        media = _header(scope, b"content-type").split(";")[0].strip().lower()
        if media not in JSON_TYPES:
            msg = f"unsupported content type {media!r}; send application/json"
            return 415, error_body("unsupported media type", ["header", "content-type"], msg)
        length = _header(scope, b"content-length")
        if length:
            if not length.isdigit():
                return 400, error_body("bad request", ["header", "content-length"], "not a number")
            if int(length) > MAX_BODY_BYTES:
                msg = f"{length} bytes; max {MAX_BODY_BYTES}"
                return 413, error_body("request body too large", ["body"], msg)
        return None


async def _buffer_body(receive: Receive) -> Receive | None:
    """Read a body sent without Content-Length (chunked), refusing it past MAX_BODY_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _with_retry_after(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 503:
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"retry-after" for k, _ in headers):
                headers.append((b"retry-after", RETRY_AFTER_S.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
