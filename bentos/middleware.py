"""ASGI guard in front of the API: tokens, methods, body limits, strict JSON and overload.

BentoML's own `max_concurrency` answers 429 and sits outside user middleware, so the contract's
"503 with Retry-After under overload" is done here: a per-worker in-flight limit, plus a
Retry-After header on any 503 from inside (the adaptive batcher sheds load with 503).

Order, cheapest refusal first: the bearer token (bentos/auth.py, 401/403 before anything is
read), the method (405), headers (415/413/400), the in-flight limit (503), then the body, counted
as it streams so a chunked flood is cut at MAX_BODY_BYTES and counts against the in-flight limit
while it arrives. The body is parsed once here to refuse what Python's `json` would silently
accept (a duplicate key keeps its last value; nesting deep enough to exhaust the recursion
limit); docs/security.md has its measured cost. Field errors from inside are bounded on the way
out: the first MAX_ERRORS, a count of the rest, and key names and messages cut short.

Last, the routes in `direct` (bentos/direct.py: `/predict` and big batches) are answered here,
with the API's own input model and service method, instead of going on to BentoML's dispatch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import bentoml
from bentoml.exceptions import BentoMLException

if TYPE_CHECKING:
    from bentos.auth import TokenAuth
    from bentos.direct import DirectRoutes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("churn.middleware")

MAX_BODY_BYTES = 4 * 1024 * 1024
"""1,000 records are ~0.6 MB of JSON; anything far above that is refused before parsing."""
RETRY_AFTER_S = "1"
API_METHODS = {
    "/predict": "POST",
    "/predict_batch": "POST",
    "/explain": "POST",
    "/model_info": "GET",
    "/outcomes": "POST",
}
"""Each contract route and its one method; anything else on these paths is a contract 405."""
JSON_TYPES = frozenset({"application/json", ""})
MAX_ERRORS = 20
"""Field errors listed in a 4xx body; the rest are counted in one last entry."""
MAX_NAME_CHARS = 64
"""Key names and `loc` parts echoed back are cut to this length."""
MAX_MSG_CHARS = 300
MAX_ERROR_BODY_BYTES = 1024 * 1024
"""A 4xx body larger than this from inside is replaced, not parsed."""


def error_body(error: str, loc: list[Any], msg: str) -> bytes:
    """The contract's error shape: {"error": str, "detail": [{"loc": [...], "msg": str}]}."""
    return json.dumps({"error": error, "detail": [{"loc": loc, "msg": msg}]}).encode()


def short(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """`text` cut to `limit` characters, marked with its full length when cut."""
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


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


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


NOT_PARSED = object()
"""`strict_json`'s value for a body it leaves to the API's own parser (invalid JSON)."""


def strict_json(body: bytes) -> tuple[Any, bytes | None]:
    """The parsed body and None, or a 400 body when the JSON has a duplicate key or nests too deep.

    Syntax errors are left to the API's parser (its message names the position): the value is
    then NOT_PARSED. Only what the standard parser would accept silently or crash on is refused.
    """
    try:
        return json.loads(body, object_pairs_hook=_unique_pairs), None
    except DuplicateKey as exc:
        msg = f"duplicate key {short(exc.key)!r}: each key may appear once in an object"
        return NOT_PARSED, error_body("duplicate key", ["body", short(exc.key)], msg)
    except RecursionError:
        return NOT_PARSED, error_body("bad request", ["body"], "JSON nested too deeply")
    except ValueError:  # invalid JSON or bytes: the API answers with its own 400
        return NOT_PARSED, None


def bounded_errors(body: bytes) -> bytes | None:
    """The contract error body with at most MAX_ERRORS entries and short names; None if not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("detail"), list):
        return None
    detail = data["detail"]
    kept = []
    for item in detail[:MAX_ERRORS]:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc", [])
        loc = [
            short(p) if isinstance(p, str) else p for p in (loc if isinstance(loc, list) else [])
        ]
        kept.append({"loc": loc, "msg": short(str(item.get("msg", "")), MAX_MSG_CHARS)})
    if len(detail) > MAX_ERRORS:
        more = len(detail) - MAX_ERRORS
        kept.append({"loc": [], "msg": f"{more} more errors not shown (first {MAX_ERRORS} above)"})
    out = {"error": short(str(data.get("error", "bad request")), MAX_MSG_CHARS), "detail": kept}
    return json.dumps(out).encode()


class ContractGuard:
    """Pure ASGI middleware in front of every route of the service."""

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int = 256,
        auth: TokenAuth | str | None = "settings",
        direct: DirectRoutes | None = None,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.direct = direct
        if auth == "settings":
            from bentos.auth import TokenAuth
            from bentos.prediction_log import require_database_location
            from churn.settings import get_settings

            require_database_location(get_settings())  # before the token store opens it
            self.auth: TokenAuth | None = TokenAuth.from_settings()
        else:
            self.auth = auth if not isinstance(auth, str) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if self.auth is not None and not await self._authorized(scope, path, send):
            return
        allowed = API_METHODS.get(path)
        if allowed is None:
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
        self.in_flight += 1
        try:
            buffered = await _read_body(receive)
            if buffered is None:
                msg = f"max {MAX_BODY_BYTES} bytes"
                await send_json(send, 413, error_body("request body too large", ["body"], msg))
                return
            payload, replay = buffered
            parsed, bad = strict_json(payload) if payload.strip() else (NOT_PARSED, None)
            if bad is not None:
                await send_json(send, 400, bad)
                return
            out = _bounded(_with_retry_after(send))
            if self.direct is not None and self.direct.takes(path, parsed):
                service = _current_service()
                if service is not None:
                    status, body = self.direct.answer(service, path, payload)
                    await send_json(out, status, body, [(b"server", self.direct.server_header)])
                    return
            await self.app(scope, replay, out)
        finally:
            self.in_flight -= 1

    async def _authorized(self, scope: Scope, path: str, send: Send) -> bool:
        from bentos.auth import Denied

        assert self.auth is not None
        try:
            self.auth.check(path, _header(scope, b"authorization"))
        except Denied as denied:
            error = "unauthorized" if denied.status == 401 else "forbidden"
            body = error_body(error, ["header", "authorization"], denied.message)
            await send_json(
                send, denied.status, body, [(b"www-authenticate", denied.challenge.encode())]
            )
            return False
        return True

    @staticmethod
    def _request_problem(scope: Scope) -> tuple[int, bytes] | None:
        media = _header(scope, b"content-type").split(";")[0].strip().lower()
        if media not in JSON_TYPES:
            msg = f"unsupported content type {short(media)!r}; send application/json"
            return 415, error_body("unsupported media type", ["header", "content-type"], msg)
        encoding = _header(scope, b"content-encoding").strip().lower()
        if encoding not in ("", "identity"):
            msg = f"content encoding {short(encoding)!r} is not accepted; send plain JSON"
            return 415, error_body("unsupported media type", ["header", "content-encoding"], msg)
        length = _header(scope, b"content-length")
        if length:
            if not length.isdigit():
                return 400, error_body("bad request", ["header", "content-length"], "not a number")
            if int(length) > MAX_BODY_BYTES:
                msg = f"{short(length)} bytes; max {MAX_BODY_BYTES}"
                return 413, error_body("request body too large", ["body"], msg)
        return None


def _current_service() -> Any:
    """The worker's service instance, or None before BentoML has made it."""
    try:
        return bentoml.get_current_service()
    except BentoMLException:
        return None


async def _read_body(receive: Receive) -> tuple[bytes, Receive] | None:
    """The whole body, counted chunk by chunk as it streams; None past MAX_BODY_BYTES."""
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

    return body, replay


def _with_retry_after(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 503:
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"retry-after" for k, _ in headers):
                headers.append((b"retry-after", RETRY_AFTER_S.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _bounded(send: Send) -> Send:
    """Hold back a 400/422 answer from inside and send it with its error list bounded."""
    start: Message | None = None
    parts: list[bytes] = []
    size = 0

    async def wrapped(message: Message) -> None:
        nonlocal start, size
        if message["type"] == "http.response.start" and message["status"] in (400, 422):
            start = message
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_ERROR_BODY_BYTES:
            parts.append(chunk)
        if message.get("more_body", False):
            return
        raw = b"".join(parts)
        body = bounded_errors(raw) if size <= MAX_ERROR_BODY_BYTES else None
        if body is None:
            body = (
                error_body("bad request", ["body"], "invalid request")
                if size > MAX_ERROR_BODY_BYTES
                else raw
            )
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped
