"""Each route of the service declared once: path, scope, request and response models, handler.

`RouteTable.api(...)` decorates a method of the service class: it records the declaration and
returns BentoML's own `@bentoml.api(route=..., input_spec=..., output_spec=...)`, so BentoML
validates the body, dispatches (with its adaptive batcher for a batchable route), counts the
request in its metrics (labelled by the route's path), lists it in `/schema.json` and lets its
clients (`bentoml.SyncHTTPClient(url, token=...).predict(customer=...)`) call it. The rest is
read from the same table: the guard's scopes and methods (bentos/middleware.py, bentos/auth.py),
the OpenAPI document's operations (bentos/openapi.py) and the contract test
(tests/serving/test_bentoml_client.py). Adding a route: docs/ARCHITECTURE.md, "Add a route".

An alternative input (e.g. `{"customerID": "..."}`, resolved by the feature store) is one more
optional field of the route's body model in bentos/api_models.py (with its "exactly one of"
rule there) and one more keyword of the handler: the declaration here does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import bentoml
from pydantic import BaseModel

Scope = Literal["predict", "admin"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Route:
    path: str
    scope: Scope
    """The token scope it needs (an `admin` token also has `predict`)."""
    summary: str
    handler: str
    """The service method's name: also the BentoML client's method (`client.predict(...)`)."""
    request: type[BaseModel] | None
    """The body model (BentoML's input spec and the documented body); None: no body."""
    response: type[BaseModel] | None
    """The documented answer (BentoML's output spec unless the handler's annotation is one)."""
    read_only: bool = False
    """Answers GET too (no body), besides the POST BentoML's clients send."""
    errors: dict[int, str] = field(default_factory=dict)
    """Statuses beyond the guard's own that the handler answers, for the document."""

    @property
    def methods(self) -> tuple[str, ...]:
        return ("GET", "POST") if self.read_only else ("POST",)


class RouteTable:
    """The routes of one service, in declaration order."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.wholes: dict[str, str] = {}
        """A batchable route's path -> the path of its unbatched twin (`whole`)."""

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes.values())

    def get(self, path: str) -> Route | None:
        return self.routes.get(path)

    def scopes(self) -> dict[str, Scope]:
        """Path -> the scope it needs (bentos/auth.py)."""
        return {r.path: r.scope for r in self}

    def api(
        self,
        path: str,
        *,
        scope: Scope,
        summary: str,
        request: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        read_only: bool = False,
        errors: dict[int, str] | None = None,
        output_spec: bool = True,
        **bentoml_options: Any,
    ) -> Callable[[F], F]:
        """Declare the decorated method as the route `path` and make it a BentoML API.

        `output_spec=False` leaves BentoML's output spec to the handler's return annotation
        (for an answer encoded by the handler's own type, `/predict_batch`)."""
        if path in self.routes:
            raise ValueError(f"route {path} declared twice")

        def decorate(func: F) -> F:
            self.routes[path] = Route(
                path, scope, summary, func.__name__, request, response, read_only,
                dict(errors or {}),
            )  # fmt: skip
            func.__doc__ = func.__doc__ or summary  # BentoML's description of the API
            options: dict[str, Any] = {"route": path, **bentoml_options}
            if request is not None:
                options["input_spec"] = request
            if response is not None and output_spec:
                options["output_spec"] = response
            return bentoml.api(**options)(func)

        return decorate

    def whole(self, path: str) -> Callable[[F], F]:
        """Declare the decorated method as the batchable route `path` once more, as a plain
        BentoML API at `path + "/whole"` with the same request model: the guard hands it the
        bodies that are a batch already (`bentos.middleware.WHOLE_BODY_BYTES`). BentoML's
        dispatcher counts queued requests, not records, against `max_batch_size`, so a lone
        1,000-record request would wait there for company it does not need (docs/serving.md).
        Not a route of the contract: the guard answers 404 to it from outside; BentoML's
        request metrics still count it under `path` (they see the request before the guard)."""
        route = self.routes[path]
        twin = path + "/whole"

        def decorate(func: F) -> F:
            self.wholes[path] = twin
            func.__doc__ = func.__doc__ or route.summary
            options: dict[str, Any] = {"route": twin}
            if route.request is not None:
                options["input_spec"] = route.request
            return bentoml.api(**options)(func)

        return decorate
