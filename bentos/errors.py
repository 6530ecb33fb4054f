"""The service's error contract: every 4xx (and 503) body, formatted in one place.

`{"error": str, "detail": [{"loc": [...], "msg": str}, ...]}` (docs/CONTRACT.md). `detail` holds
the first MAX_ERRORS problems, each naming where (`loc`: the field path, or `["header", name]`,
`["body"]`, `["path"]`, `["method"]`) and what is wrong; when some are left out, a last entry
(`loc` []) counts them, and `error` gives the total. Names and messages echoed from the request are
cut short, so a body with tens of thousands of unknown keys gets a small answer that still names
the first of them. Why here: the guard, the project's routes and the outcome intake all answer
errors, and a client (frontends/common/client.py) reads one shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError

MAX_ERRORS = 20
"""Problems listed in one error body; the rest are counted."""
MAX_NAME_CHARS = 64
"""Key names and `loc` parts echoed back are cut to this length."""
MAX_MSG_CHARS = 300
MAX_INSIDE_ERROR_BYTES = 1024 * 1024
"""A 4xx body from a framework route larger than this is not parsed whole (`reshape`)."""

Loc = Sequence[str | int]
CONTRACT_KEYS = frozenset({"error", "detail"})
DETAIL_KEYS = frozenset({"loc", "msg"})
_SUMMARY = re.compile(r'"error":\s*"(\d+) validation errors? for')


def short(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """`text` cut to `limit` characters, marked with its full length when cut."""
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


def _loc(loc: Iterable[Any]) -> list[str | int]:
    return [p if isinstance(p, int) else short(str(p)) for p in loc]


def error_body(error: str, problems: Iterable[tuple[Loc, str]], count: int | None = None) -> bytes:
    """The contract body from (loc, msg) pairs: at most MAX_ERRORS, then one entry for the rest.

    `count` is the number of problems when `problems` holds only the first of them."""
    detail: list[dict[str, Any]] = []
    seen = 0
    for loc, msg in problems:
        seen += 1
        if seen <= MAX_ERRORS:
            detail.append({"loc": _loc(loc), "msg": short(str(msg), MAX_MSG_CHARS)})
    total = max(seen, count or 0)
    if total > MAX_ERRORS:
        more = total - MAX_ERRORS
        detail.append(
            {"loc": [], "msg": f"{more} more errors not shown (first {MAX_ERRORS} above)"}
        )
    body = {"error": short(error, MAX_MSG_CHARS), "detail": detail}
    return json.dumps(body).encode()


def one_error(error: str, loc: Loc, msg: str) -> bytes:
    """A body naming one problem (a header, the method, the body as a whole)."""
    return error_body(error, [(loc, msg)])


def _msg(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field: not part of the schema"
    return str(err["msg"]).removeprefix("Value error, ")


def validation_body(exc: ValidationError) -> bytes:
    """A 400 body from pydantic's errors on a request model: the first ones, and the count."""
    total = exc.error_count()
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    problems = ((err["loc"] or ("body",), _msg(err)) for err in errors[:MAX_ERRORS])
    noun = "problem" if total == 1 else "problems"
    return error_body(f"invalid request: {total} {noun}", problems, total)


def json_syntax_body(exc: ValueError) -> bytes:
    """A 400 body for bytes that are not JSON (`json.JSONDecodeError` names the position)."""
    return one_error("invalid JSON", ["body"], f"Invalid JSON: {exc}")


def _in_contract(data: Any) -> bool:
    """Whether a parsed body already has the contract's shape and bounds."""
    if not isinstance(data, dict) or set(data) != CONTRACT_KEYS:
        return False
    detail = data["detail"]
    return (
        isinstance(detail, list)
        and 0 < len(detail) <= MAX_ERRORS + 1
        and all(isinstance(d, dict) and set(d) == DETAIL_KEYS for d in detail)
    )


def reshape(status: int, raw: bytes, size: int) -> bytes:
    """A 4xx body from a framework route in the contract's shape: BentoML's
    `{"error", "detail": [pydantic errors]}`, or Starlette's plain-text 404. A body over
    MAX_INSIDE_ERROR_BYTES (`raw` then holds its start) is read item by item up to MAX_ERRORS,
    so its first problems are still named; its count is taken from pydantic's summary line."""
    text = raw.decode("utf-8", "replace")
    phrase = (
        HTTPStatus(status).phrase.lower() if status in HTTPStatus._value2member_map_ else "error"
    )
    if size <= MAX_INSIDE_ERROR_BYTES:
        try:
            data = json.loads(text)
        except ValueError:
            return one_error(
                phrase,
                ["path"] if status in (404, 405) else ["body"],
                short(text.strip(), MAX_MSG_CHARS) or phrase,
            )
        if _in_contract(data):
            return raw  # already ours (a route's handler or the outcome intake answered it)
        if isinstance(data, dict) and isinstance(data.get("detail"), list):
            found = [d for d in data["detail"] if isinstance(d, dict)]
            total = len(found)
            noun = "problem" if total == 1 else "problems"
            problems = ((d.get("loc") or ["body"], _msg(d) if "type" in d else d.get("msg", ""))
                        for d in found)  # fmt: skip
            return error_body(f"invalid request: {total} {noun}", problems, total)
        if isinstance(data, list) and len(data) == 1:  # BentoML's `({"error": ...},)`
            data = data[0]
        message = data.get("error") if isinstance(data, dict) else None
        if status == 503:
            msg = "the service cannot answer now (overloaded or the prediction log is full)"
            return one_error("unavailable", [], f"{msg}; retry after Retry-After")
        return one_error(phrase, ["body"], str(message or phrase))
    decoder = json.JSONDecoder()
    items: list[dict[str, Any]] = []
    pos = text.find("[", text.find('"detail"')) + 1
    while 0 < pos < len(text) and len(items) < MAX_ERRORS:
        while pos < len(text) and text[pos] in " ,\n":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        if isinstance(item, dict):
            items.append(item)
    summary = _SUMMARY.search(text[:200])
    count = int(summary.group(1)) if summary else None
    listed: list[tuple[Loc, str]] = [
        (d.get("loc") or ["body"], _msg(d) if "type" in d else str(d.get("msg", ""))) for d in items
    ]
    if not listed:
        listed = [(["body"], f"refused with {size} bytes of errors; the first could not be read")]
    return error_body(f"invalid request: {count or 'many'} problems", listed, count)
