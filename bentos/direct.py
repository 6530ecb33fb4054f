"""Answer `/predict` (and `/predict_batch` requests too big to merge) inside the ASGI guard.

Why: after our own per-request work was cut, two thirds of `/predict`'s Python time was
BentoML's dispatch behind user middleware: its context middleware, Starlette routing, the
endpoint wrapper and its serde (docs/serving.md, "Profile"). The guard already holds the body, so
it answers these requests itself, with BentoML's own parts wherever they decide the answer:

- the API's own input model (`ChurnService.apis[name].input_spec`), validated from the JSON bytes
  as BentoML's JSON serde does (`model_validate_json`, an empty body read as `{}`), so accepted
  and refused requests are the same, with the same messages;
- the service instance's own methods (`predict_one`, `predictions`), so scoring, the prediction
  log, metrics, shadow and A/B routing are the same code;
- the error answers of BentoML's `api_endpoint_wrapper` (400 for a validation error, the
  exception's own status for a `BentoMLException`, 500 otherwise, each with its body).

What stays outside and still counts these requests: BentoML's request metrics, timeout and
concurrency middlewares, which sit in front of user middleware. `CHURN_DIRECT_PREDICT=off` sends
everything through BentoML's dispatch; tests/serving/test_direct_routes.py checks that both
answer the same bytes to the same requests.

A `/predict_batch` request goes direct only when it alone holds at least
`CHURN_BATCH_DIRECT_RECORDS` records: merging it with others saves nothing, and BentoML's
dispatcher would hold it for its learned wait (it compares queued *requests* with a size in
*records*).
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from bentoml.exceptions import BentoMLException
from pydantic import BaseModel, ValidationError
from starlette.responses import JSONResponse

from bentos.api_models import batch_body

logger = logging.getLogger("churn.direct")

GENERIC_500 = "An unexpected error has occurred, please check the server log."
"""BentoML's message for any 5xx, kept so both paths answer alike."""


class Answer(NamedTuple):
    status: int
    body: bytes


def _json(status: int, data: Any) -> Answer:
    """Rendered as BentoML renders it (Starlette's `JSONResponse`: compact, UTF-8)."""
    return Answer(status, bytes(JSONResponse(data).body))


def error_answer(exc: Exception) -> Answer:
    """What BentoML's `api_endpoint_wrapper` answers for an exception from an API call."""
    if isinstance(exc, ValidationError):
        data = {
            "error": f"{exc.error_count()} validation error for {exc.title}",
            "detail": exc.errors(include_context=False, include_input=False),
        }
        return _json(400, data)
    if isinstance(exc, BentoMLException):
        status = exc.error_code.value
        if status in (401, 403):
            return _json(status, {"error": "Authorization error"})
        message = GENERIC_500 if status >= 500 else str(exc)
        return _json(status, {"error": message})
    return _json(500, {"error": GENERIC_500})


class DirectRoutes:
    """The routes the guard answers itself, for one service class."""

    def __init__(self, service_cls: Any, batch_direct_records: int) -> None:
        self._single: type[BaseModel] = service_cls.apis["predict"].input_spec
        self._batch: type[BaseModel] = service_cls.apis["predict_batch"].input_spec
        self.batch_direct_records = batch_direct_records
        self.server_header = f"BentoML Service/{service_cls.name}".encode()

    def takes(self, path: str, parsed: Any) -> bool:
        """Whether this request is answered here; `parsed` is the guard's parse of the body."""
        if path == "/predict":
            return True
        if path == "/predict_batch" and isinstance(parsed, dict):
            customers = parsed.get("customers")
            return isinstance(customers, list) and len(customers) >= self.batch_direct_records
        return False

    def answer(self, service: Any, path: str, body: bytes) -> Answer:
        """The status and body for one request, as BentoML's endpoint would give them."""
        try:
            if path == "/predict":
                customer = self._single.model_validate_json(body or b"{}").customer  # type: ignore[attr-defined]
                prediction = service.predict_one(customer)
                return Answer(200, prediction.model_dump_json().encode())
            customers = self._batch.model_validate_json(body or b"{}").customers  # type: ignore[attr-defined]
            return Answer(200, batch_body(service.predictions(customers)))
        except ValidationError as exc:
            return error_answer(exc)
        except BentoMLException as exc:
            if exc.error_code.value >= 500:
                logger.warning("%s answered %s: %s", path, exc.error_code.value, exc)
            return error_answer(exc)
        except Exception as exc:
            logger.exception("%s failed", path)
            return error_answer(exc)
