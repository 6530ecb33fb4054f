"""The framework ceiling: `ChurnService`'s configuration with a `/predict` that does no work.

Same BentoML service config as `bentos/service.py` (workers from `CHURN_SERVICE_WORKERS`, traffic
timeout, access log off, API tracing per `CHURN_TRACE_API`), the same `ContractGuard` ASGI
middleware and route declaration (bentos/routes.py), the same `Customer` pydantic input and
`Prediction` output; the handler returns a constant prediction (no model, no prediction log,
no custom metrics). Its req/s is what BentoML
plus uvicorn allow on this machine; `/predict` of the real service is measured against it.

Run: `bentoml serve benchmarks.serving.ceiling_service:CeilingService` from the repo root.
"""

from __future__ import annotations

import bentoml

from bentos import middleware
from bentos.api_models import Customer, OneCustomer, Prediction
from bentos.routes import RouteTable
from churn.settings import get_settings

KNOBS = get_settings().service
ROUTES = RouteTable()
CONSTANT = Prediction.model_construct(
    churn_probability=0.5, churn=True, risk_band="medium", threshold=0.5, model_version="ceiling"
)


@bentoml.service(
    name="churn_ceiling",
    workers=KNOBS.service_workers,
    traffic={"timeout": 30},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": [] if KNOBS.trace_api == "on" else [".*"]},
)
class CeilingService:
    """Validates the request like `ChurnService.predict`, then answers a constant."""

    @ROUTES.api(
        "/predict", scope="predict", summary="constant", request=OneCustomer, response=Prediction
    )
    async def predict(
        self, customer: Customer | None = None, customerID: str | None = None
    ) -> Prediction:
        return CONSTANT  # the same body model and signature as `ChurnService.predict`


CeilingService.add_asgi_middleware(  # type: ignore[attr-defined]
    middleware.ContractGuard, routes=ROUTES, service=CeilingService
)
