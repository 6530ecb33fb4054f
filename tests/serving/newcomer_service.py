"""A newcomer's service: the route recipe of docs/ARCHITECTURE.md ("Add a route") followed with
the real parts (bentos/routes.py, the guard) and nothing else (tests/serving/test_newcomer_route.py
serves it)."""

from __future__ import annotations

import bentoml
from pydantic import BaseModel, ConfigDict

from bentos.middleware import ContractGuard
from bentos.routes import RouteTable

ROUTES = RouteTable()


class Greet(BaseModel):  # step 1: the body model (bentos/api_models.py in the product)
    model_config = ConfigDict(extra="forbid")
    name: str


class Greeting(BaseModel):  # ... and the response model
    greeting: str


@bentoml.service(name="newcomer_service", workers=1)
class NewcomerService:
    @ROUTES.api(  # step 2: one declared method (bentos/service.py in the product)
        "/greet", scope="admin", summary="Greets by name", request=Greet, response=Greeting
    )
    def greet(self, name: str) -> Greeting:
        return Greeting(greeting=f"hello {name}")


NewcomerService.add_asgi_middleware(  # type: ignore[attr-defined]
    ContractGuard, routes=ROUTES, service=NewcomerService
)
