"""ASGI guard in front of every route: request policy only (tokens, methods, size, strict JSON,
overload). Answering is left to BentoML's app behind it, but for the OpenAPI document.

Closed by default: without a token only `/readyz` and `/livez` answer; every declared route
needs its scope (bentos/routes.py, the one declaration of each); `/metrics` needs a token when
`CHURN_METRICS_AUTH=on`; anything else (the docs, unknown paths) a `predict` token; websocket
connections are refused. Registered with BentoML's `add_asgi_middleware` (bentos/service.py) and
built by BentoML in each worker, which is when it reads the settings and opens the token store.

BentoML's own `max_concurrency` answers 429 and sits outside user middleware, so the contract's
"503 with Retry-After under overload" is done here: a per-worker in-flight limit, plus a
Retry-After header on any 503 from inside (the adaptive batcher sheds load with 503).

A big body to a batchable route (`/predict_batch`, `WHOLE_BODY_BYTES` or more) goes on to the
route's unbatched twin (`RouteTable.whole`), which is answered only that way.

Order, cheapest refusal first: the bearer token (bentos/auth.py, 401/403 before anything is
read), the method (405), headers (415/413/400), the in-flight limit (503), then the body, counted
as it streams so a chunked flood is cut at MAX_BODY_BYTES and counts against the in-flight limit
while it arrives. The body is parsed once here, to refuse what is not JSON (naming the position)
and what Python's `json` would silently accept (a duplicate key keeps its last value; nesting
deep enough to exhaust the recursion limit); docs/security.md has its measured cost. The bytes
are then replayed to BentoML, which validates them against the route's input spec.

A read-only route (`/model_info`) answers GET as well as the POST BentoML's clients send: the GET
goes on as a POST of `{}`. On the way out, anything from inside that is not in the contract is
put in it: a 4xx or 503 body in the error shape of bentos/errors.py (bounded, naming the first
problems), and a redirect's `Location` made relative (Starlette's trailing-slash redirect builds
it from the `Host` header).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from bentos.errors import MAX_INSIDE_ERROR_BYTES, json_syntax_body, one_error, reshape, short
from bentos.routes import RouteTable

if TYPE_CHECKING:
    from bentos.auth import TokenAuth

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("churn.middleware")

MAX_BODY_BYTES = 4 * 1024 * 1024
"""1,000 records are ~0.6 MB of JSON; anything far above that is refused before parsing."""
WHOLE_BODY_BYTES = 64 * 1024
"""A body this large (~100 records) to a batchable route goes to its unbatched twin
(`RouteTable.whole`): it is a batch already, and the batcher would make it wait."""
RETRY_AFTER_S = "1"
JSON_TYPES = frozenset({"application/json", ""})
JSON = b"application/json"
NOT_PARSED = object()
DOCS_PATH = "/docs.json"


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


def strict_json(body: bytes) -> tuple[Any, bytes | None]:
    """The parsed body and None, or NOT_PARSED and a 400 body naming what is wrong: not JSON
    (with the position), a duplicate key, or nesting too deep for the parser."""
    try:
        return json.loads(body, object_pairs_hook=_unique_pairs), None
    except DuplicateKey as exc:
        msg = f"duplicate key {short(exc.key)!r}: each key may appear once in an object"
        return NOT_PARSED, one_error("duplicate key", ["body", short(exc.key)], msg)
    except RecursionError:
        return NOT_PARSED, one_error("bad request", ["body"], "JSON nested too deeply")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return NOT_PARSED, json_syntax_body(exc)


class ContractGuard:
    """Pure ASGI middleware in front of every route of the service.

    `routes`: the service's declarations; `service`: the `bentoml.Service` (for its OpenAPI
    document); `max_in_flight` and `auth` default to the settings, read here, in the worker."""

    def __init__(
        self,
        app: ASGIApp,
        routes: RouteTable | None = None,
        service: Any = None,
        max_in_flight: int | None = None,
        auth: TokenAuth | str | None = "settings",
    ) -> None:
        self.app = app
        self.routes = routes or RouteTable()
        self.methods = {r.path: r.methods for r in self.routes}
        self.wholes = dict(self.routes.wholes)
        self.twins = frozenset(self.wholes.values())
        self.service = service
        self.docs: bytes | None = None
        self.in_flight = 0
        if max_in_flight is None or auth == "settings":
            from churn.settings import get_settings

            settings = get_settings()
            max_in_flight = max_in_flight or settings.service.max_in_flight
        self.max_in_flight = max_in_flight
        if auth == "settings":
            from bentos.auth import TokenAuth
            from bentos.prediction_log import (
                PredictionLogConfigError,
                exit_on_fatal,
                require_database_location,
            )
            from churn.db.migrate import SchemaNotCurrentError

            require_database_location(settings)  # before the token store opens it
            try:
                self.auth: TokenAuth | None = TokenAuth.from_settings(
                    settings, self.routes.scopes()
                )
            except SchemaNotCurrentError as exc:  # stop the server, naming `churn db migrate`
                exit_on_fatal(PredictionLogConfigError(str(exc)))
        else:
            self.auth = auth if not isinstance(auth, str) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # no route of the service is a websocket
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if self.auth is not None and not await self._authorized(scope, path, send):
            return
        allowed = self.methods.get(path)
        if path in self.twins:  # reached only through its batchable route, below
            await send_json(send, 404, one_error("not found", ["path"], "not a route"))
            return
        if allowed is None:
            if path == DOCS_PATH and scope.get("method") == "GET" and self.service is not None:
                await send_json(send, 200, self.openapi())
                return
            await self.app(scope, receive, _in_contract(send))
            return
        method = scope.get("method", "GET")
        if method not in allowed:
            listed = ", ".join(allowed)
            body = one_error("method not allowed", ["method"], f"{path} accepts {listed}")
            await send_json(send, 405, body, [(b"allow", listed.encode())])
            return
        if method == "GET":  # a read-only route: BentoML's API is a POST without input
            scope = {**scope, "method": "POST", "headers": [(b"content-type", JSON)]}
            await self.app(scope, _replay(b"{}", receive), _in_contract(send))
            return
        problem = self._request_problem(scope)
        if problem is not None:
            status, body = problem
            await send_json(send, status, body)
            return
        if self.in_flight >= self.max_in_flight:
            body = one_error("overloaded", [], "too many requests in flight; retry later")
            await send_json(send, 503, body, [(b"retry-after", RETRY_AFTER_S.encode())])
            return
        self.in_flight += 1
        try:
            payload = await _read_body(receive)
            if payload is None:
                msg = f"max {MAX_BODY_BYTES} bytes"
                await send_json(send, 413, one_error("request body too large", ["body"], msg))
                return
            _, bad = strict_json(payload) if payload.strip() else (NOT_PARSED, None)
            if bad is not None:
                await send_json(send, 400, bad)
                return
            twin = self.wholes.get(path)
            if twin is not None and len(payload) >= WHOLE_BODY_BYTES:
                scope = {**scope, "path": twin, "raw_path": twin.encode()}
            await self.app(scope, _replay(payload, receive), _in_contract(send))
        finally:
            self.in_flight -= 1

    def openapi(self) -> bytes:
        """The OpenAPI document (bentos/openapi.py), built once per worker."""
        if self.docs is None:
            from bentos.openapi import document

            self.docs = document(self.service.openapi_spec.asdict(), list(self.routes))
        return self.docs

    async def _authorized(self, scope: Scope, path: str, send: Send) -> bool:
        from bentos.auth import Denied

        assert self.auth is not None
        try:
            self.auth.check(path, _header(scope, b"authorization"))
        except Denied as denied:
            error = "unauthorized" if denied.status == 401 else "forbidden"
            body = one_error(error, ["header", "authorization"], denied.message)
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
            return 415, one_error("unsupported media type", ["header", "content-type"], msg)
        encoding = _header(scope, b"content-encoding").strip().lower()
        if encoding not in ("", "identity"):
            msg = f"content encoding {short(encoding)!r} is not accepted; send plain JSON"
            return 415, one_error("unsupported media type", ["header", "content-encoding"], msg)
        length = _header(scope, b"content-length")
        if length:
            if not length.isdigit():
                return 400, one_error("bad request", ["header", "content-length"], "not a number")
            if int(length) > MAX_BODY_BYTES:
                msg = f"{short(length)} bytes; max {MAX_BODY_BYTES}"
                return 413, one_error("request body too large", ["body"], msg)
        return None


async def _read_body(receive: Receive) -> bytes | None:
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
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app behind: `body` once, then the client's own messages (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def relative(location: bytes) -> bytes:
    """A redirect target without scheme and host (`http://evil/predict?x` -> `/predict?x`)."""
    text = location.decode("latin-1")
    if "://" in text:
        text = "/" + text.split("://", 1)[1].partition("/")[2]
    elif text.startswith("//"):
        text = "/" + text[2:].partition("/")[2]
    return text.encode("latin-1")


def _in_contract(send: Send) -> Send:
    """`send` for an answer from inside: no `server` header (BentoML names itself there),
    Retry-After on a 503, a relative Location on a redirect, and a 4xx or 503 body held back
    and sent in the contract's error shape (`reshape`)."""
    start: Message | None = None
    parts: list[bytes] = []
    size = 0

    async def wrapped(message: Message) -> None:
        nonlocal start, size
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
            message = {**message, "headers": headers}
            if 400 <= status < 500 or status == 503:
                start = message
                return
            if 300 <= status < 400:
                message = {**message, "headers": _fixed_headers(status, message)}
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunk = message.get("body", b"")
        if size <= MAX_INSIDE_ERROR_BYTES:
            parts.append(chunk)
        size += len(chunk)
        if message.get("more_body", False):
            return
        body = reshape(start["status"], b"".join(parts), size)
        await send_json(send, start["status"], body, _kept_headers(start))

    return wrapped


def _fixed_headers(status: int, message: Message) -> list[tuple[bytes, bytes]]:
    headers = list(message.get("headers", []))
    if status == 503 and not any(k.lower() == b"retry-after" for k, _ in headers):
        headers.append((b"retry-after", RETRY_AFTER_S.encode()))
    return [(k, relative(v) if k.lower() == b"location" else v) for k, v in headers]


def _kept_headers(start: Message) -> list[tuple[bytes, bytes]]:
    """A reshaped 4xx or 503 keeps its headers (Allow, WWW-Authenticate...) but its body's
    own; a 503 gets Retry-After if it has none."""
    drop = (b"content-length", b"content-type")
    status = start["status"]
    return [(k, v) for k, v in _fixed_headers(status, start) if k.lower() not in drop]
