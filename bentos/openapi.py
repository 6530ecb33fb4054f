"""The OpenAPI document at `/docs.json`: BentoML's, with each declared route's security and errors.

BentoML documents its `@bentoml.api` routes but knows nothing of tokens or the contract's error
body. Each route's declaration (bentos/routes.py) gives its operation here: request and response
models, the contract's error body (bentos/errors.py) for 4xx, 401/403 with the bearer-token
scheme and the scope the route needs, 503 with Retry-After. Built once per worker by the guard
(bentos/middleware.py), on the first request for it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from bentos.routes import Route

REF = "#/components/schemas/{model}"
SCHEME = "bearerToken"
ERROR_SCHEMA = {
    "type": "object",
    "title": "Error",
    "description": "Every 4xx and 503: what is wrong and where. At most 20 entries in detail; "
    "a last entry with an empty loc counts the problems not shown.",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string"},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        "description": 'where: ["customer", "tenure"], ["customers", 3, '
                        '"gender"], ["header", "content-type"], ["body"], ["method"]',
                    },
                    "msg": {"type": "string"},
                },
            },
        },
    },
}


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """A reference to `model`'s schema, which goes (with its definitions) into `schemas`."""
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    name = model.__name__
    schemas.setdefault(name, schema)
    return {"$ref": REF.format(model=name)}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


def operation(route: Route, schemas: dict[str, Any], method: str = "POST") -> dict[str, Any]:
    """The OpenAPI operation of one declared route, for `method`."""
    ok: dict[str, Any] = {"description": "Successful Response"}
    if route.response is not None:
        ok["content"] = {"application/json": {"schema": _schema(route.response, schemas)}}
    op: dict[str, Any] = {
        "summary": route.summary,
        "description": f"{route.summary}. Needs a bearer token with the `{route.scope}` scope"
        + (" (an admin token also works)." if route.scope == "predict" else "."),
        "operationId": route.handler if method == "POST" else f"{route.handler}_{method.lower()}",
        "tags": ["Service APIs"],
        "security": [{SCHEME: []}],
        "x-churn-scope": route.scope,
        "responses": {
            "200": ok,
            "400": _error("Invalid JSON or invalid fields: each problem named"),
            "401": _error("Missing, unknown or revoked token"),
            "403": _error(f"The token lacks the `{route.scope}` scope"),
            "405": _error(f"Another method than {' or '.join(route.methods)}"),
            "413": _error("Body over 4 MB"),
            "415": _error("Not application/json"),
            "503": _error("Overloaded or the prediction log is full; retry after Retry-After"),
        },
    }
    if route.request is not None and method == "POST":
        body = {"application/json": {"schema": _schema(route.request, schemas)}}
        op["requestBody"] = {"required": True, "content": body}
    else:  # no body: nothing to refuse in one
        for status in ("400", "413", "415"):
            del op["responses"][status]
    for code, description in route.errors.items():
        op["responses"][str(code)] = _error(description)
    return op


def document(spec: dict[str, Any], routes: list[Route]) -> bytes:
    """BentoML's document (`Service.openapi_spec.asdict()`), with `routes` documented and
    secured."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`churn auth token create NAME --scope predict|admin`); "
            "each route names the scope it needs in `x-churn-scope`.",
        }
    }
    for route in routes:
        spec["paths"][route.path] = {m.lower(): operation(route, schemas, m) for m in route.methods}
    return json.dumps(spec).encode()
