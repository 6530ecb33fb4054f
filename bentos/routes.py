"""The project's own routes: one table, answered by one ASGI app in front of BentoML's.

Why: after our own per-request work was cut, two thirds of `/predict`'s Python time was
BentoML's dispatch (its context middleware, Starlette routing, the endpoint wrapper and its
serde; docs/serving.md, "Profile"). So the routes of the contract are answered here, with our
own input models (`bentos.api_models`), the service instance's methods (scoring, the prediction
log, metrics, shadow and A/B routing) and our own error contract (bentos/errors.py). BentoML
keeps what it is good at: the workers, health, `/metrics`, its request metrics, timeout and
concurrency middlewares (which sit in front of user middleware and so still count every request
answered here), and the adaptive batcher of `/predict_batch`.

`ServiceRoutes` is installed with BentoML's documented middleware hook
(`Service.add_asgi_middleware`), behind the guard (bentos/middleware.py), which has already
checked the token, method, size and JSON, and left the body in the scope. A request whose route
is not in the table, or that a view passes on (a small `/predict_batch`, for the batcher to
merge), goes on to BentoML's app unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import bentoml
from bentoml.exceptions import BentoMLException
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from bentos.api_models import (
    BatchPredictions,
    Customers,
    Explanation,
    ModelInfo,
    OneCustomer,
    Prediction,
    batch_body,
)
from bentos.errors import one_error, validation_body
from bentos.middleware import BODY, ASGIApp, Receive, Scope, Send, send_json
from bentos.outcomes import OutcomeCounts, Outcomes, outcomes_view

logger = logging.getLogger("churn.routes")

Headers = tuple[tuple[bytes, bytes], ...]


class Answer(NamedTuple):
    status: int
    body: bytes
    headers: Headers = ()


View = Callable[[Request, Any], Awaitable[Answer | None]]
"""A route's view: the request and the worker's service instance; None passes it on."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    view: View
    summary: str
    scope: str
    """The token scope it needs (bentos/auth.py), for the OpenAPI document."""
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None


def _ok(body: bytes) -> Answer:
    return Answer(200, body)


async def predict(request: Request, service: Any) -> Answer:
    customer = OneCustomer.model_validate_json(request.scope[BODY] or b"{}").customer
    return _ok(service.predict_one(customer).model_dump_json().encode())


async def explain(request: Request, service: Any) -> Answer:
    customer = OneCustomer.model_validate_json(request.scope[BODY] or b"{}").customer
    return _ok(service.explain_one(customer).model_dump_json().encode())


def predict_batch(direct_records: int) -> View:
    """Validated here whatever its size (so every refusal is ours); answered here from
    `direct_records` records on, since merging a big request saves nothing and BentoML's
    dispatcher would hold it for its learned wait (docs/serving.md)."""

    async def view(request: Request, service: Any) -> Answer | None:
        customers = Customers.model_validate_json(request.scope[BODY] or b"{}").customers
        if len(customers) < direct_records:
            return None  # BentoML's adaptive batcher merges it with others
        return _ok(batch_body(service.predictions(customers)))

    return view


async def model_info(request: Request, service: Any) -> Answer:
    return _ok(service.model_info_body())


async def outcomes(request: Request, service: Any) -> Answer:
    response = await outcomes_view(request)
    drop = (b"content-length", b"content-type")
    kept = tuple((k, v) for k, v in response.raw_headers if k not in drop)
    return Answer(response.status_code, bytes(response.body), kept)


def route_table(batch_direct_records: int) -> dict[str, Route]:
    """Path -> route: every route of the contract answered by the project."""
    routes = [
        Route(
            "POST", "/predict", predict,
            "Churn probability, decision and risk band for one customer",
            "predict", OneCustomer, Prediction,
        ),
        Route(
            "POST", "/predict_batch", predict_batch(batch_direct_records),
            "One prediction per record, in order (1..1000 records; concurrent small requests "
            "are merged by the adaptive batcher)",
            "predict", Customers, BatchPredictions,
        ),
        Route(
            "POST", "/explain", explain,
            "Churn probability and each input feature's exact contribution",
            "predict", OneCustomer, Explanation,
        ),
        Route(
            "GET", "/model_info", model_info,
            "The card of the model this worker serves now, and the experiment",
            "predict", None, ModelInfo,
        ),
        Route(
            "POST", "/outcomes", outcomes,
            "Observed outcomes into the outcome store (all or none)",
            "admin", Outcomes, OutcomeCounts,
        ),
    ]  # fmt: skip
    return {r.path: r for r in routes}


class ServiceRoutes:
    """ASGI app: the table's routes answered here, anything else passed on to `app`."""

    def __init__(self, app: ASGIApp, service: Any, batch_direct_records: int = 256) -> None:
        self.app = app
        self.table = route_table(batch_direct_records)
        self.docs: bytes | None = None
        self.service_definition = service
        """The `bentoml.Service` (for its OpenAPI document)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.table.get(scope["path"])
            if route is not None and scope["method"] == route.method:
                answer = await self.answer(route, Request(scope, receive))
                if answer is not None:
                    await send_json(send, answer.status, answer.body, list(answer.headers))
                    return
            elif scope["path"] == "/docs.json" and scope["method"] == "GET":
                await send_json(send, 200, self.openapi())
                return
        await self.app(scope, receive, send)

    async def answer(self, route: Route, request: Request) -> Answer | None:
        """The view's answer, or the contract's error answer for what it raised."""
        service = _current_service()
        if service is None:
            return Answer(503, one_error("unavailable", [], "the service is starting; retry"))
        try:
            return await route.view(request, service)
        except ValidationError as exc:
            return Answer(400, validation_body(exc))
        except BentoMLException as exc:  # ServiceUnavailable: the prediction log is full
            status = exc.error_code.value
            if status >= 500:
                logger.warning("%s answered %s: %s", route.path, status, exc)
                return Answer(status, one_error("unavailable", [], str(exc)))
            return Answer(status, one_error("bad request", ["body"], str(exc)))
        except Exception:
            logger.exception("%s failed", route.path)
            msg = "an unexpected error; the server log has the details"
            return Answer(500, one_error("internal error", [], msg))

    def openapi(self) -> bytes:
        """The OpenAPI document (bentos/openapi.py), built once per worker."""
        if self.docs is None:
            from bentos.openapi import document

            self.docs = document(self.service_definition, list(self.table.values()))
        return self.docs


def _current_service() -> Any:
    """The worker's service instance, or None before BentoML has made it."""
    try:
        return bentoml.get_current_service()
    except BentoMLException:
        return None
