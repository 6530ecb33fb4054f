"""`POST /outcomes`: observed outcomes into the outcome store (a route of bentos/service.py).

Body `{"outcomes": [{"customerID": str, "churned": bool, "observed_at": ISO 8601?}, ...]}`,
1..10,000 items, validated by the same model as `churn outcomes import` (churn/outcomes.py):
any bad item refuses the whole batch with a 422 naming each one, in the contract's error shape.
The answer counts what was received, stored and skipped as already stored.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bentos.errors import MAX_ERRORS, error_body
from bentos.middleware import MAX_BODY_BYTES
from churn.db.outcomes import engine_for, store
from churn.outcomes import MAX_BATCH, Outcome, OutcomeInputError, validate_body
from churn.settings import get_settings

log = logging.getLogger(__name__)


class Outcomes(BaseModel):
    """The body (for the OpenAPI document; `churn.outcomes.validate_body` validates it)."""

    model_config = ConfigDict(extra="forbid")
    outcomes: list[Outcome] = Field(min_length=1, max_length=MAX_BATCH)


ITEMS_SCHEMA = {
    "type": "array",
    "items": Outcome.model_json_schema(),
    "minItems": 1,
    "maxItems": MAX_BATCH,
}


class OutcomesBody(BaseModel):
    """BentoML's input spec: the items are validated by `answer`, so that any bad item
    refuses the whole batch with a 422 naming each one, as `churn outcomes import` does."""

    model_config = ConfigDict(extra="forbid")
    outcomes: Annotated[Any, WithJsonSchema(ITEMS_SCHEMA)] = None


class OutcomeCounts(BaseModel):
    received: int
    stored: int
    duplicates: int = Field(description="already stored (same customer and time): skipped")


def _error(
    status: int,
    error: str,
    detail: list[dict[str, Any]],
    count: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The contract's error body (bentos/errors.py): the first problems and the count."""
    problems = ((d["loc"], d["msg"]) for d in detail)
    body = error_body(error, problems, count)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


@lru_cache(maxsize=4)
def _engine(url: str) -> sa.Engine:
    """Migrated once per worker and URL (the service migrated at start already)."""
    return engine_for(url)


def _store(items: list[Any]) -> dict[str, int]:
    return store(_engine(get_settings().prediction_db), items, source="api").as_dict()


async def outcomes_view(request: Request) -> Response:
    """Validate the whole batch, then store it in one transaction (all or none)."""
    if request.method != "POST":
        return _error(405, "method not allowed", [{"loc": ["method"], "msg": "use POST"}])
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", ""):
        msg = f"unsupported content type {media!r}; send application/json"
        return _error(
            415, "unsupported media type", [{"loc": ["header", "content-type"], "msg": msg}]
        )
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        msg = f"{len(raw)} bytes; max {MAX_BODY_BYTES}"
        return _error(413, "request body too large", [{"loc": ["body"], "msg": msg}])
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(400, "invalid JSON", [{"loc": ["body"], "msg": str(exc)}])
    return await run_in_threadpool(answer, body)


def answer(body: Any) -> Response:
    """Validate the whole batch, then store it in one transaction (all or none)."""
    try:
        items = validate_body(body)
    except OutcomeInputError as exc:
        detail = [{"loc": list(p.loc), "msg": p.msg} for p in exc.problems[:MAX_ERRORS]]
        error = f"invalid outcomes ({len(exc.problems)} problem(s)); none stored"
        return _error(422, error, detail, len(exc.problems))
    try:
        counts = _store(items)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("outcome store failed: %s", exc)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        detail = [{"loc": ["database"], "msg": f"cannot store outcomes now: {reason}"}]
        return _error(503, "outcome store unavailable", detail, headers={"Retry-After": "5"})
    return JSONResponse(counts)
