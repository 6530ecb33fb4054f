"""`churn_service`: the BentoML service in front of the production `telco_churn` model.

`make serve`. Each route is declared once, here, with `ROUTES.api(...)` (bentos/routes.py): path,
scope, request and response models, handler; the guard, the OpenAPI document and the contract
test read that table. Handlers hand over to `Answers` (bentos/answers.py), built in each worker.
API shapes: docs/CONTRACT.md; design and measurements: docs/serving.md."""

from __future__ import annotations

from typing import Any

import bentoml
from starlette.responses import Response

from bentos.answers import Answers
from bentos.api_models import (
    BatchBody,
    BatchPredictions,
    ByIdPredictions,
    Customer,
    CustomerIDs,
    CustomerList,
    Customers,
    Explanation,
    ModelInfo,
    NoBody,
    OneCustomer,
    Prediction,
)
from bentos.by_id import BY_ID_ERRORS
from bentos.middleware import ContractGuard
from bentos.outcomes import OutcomeCounts, OutcomesBody
from bentos.outcomes import answer as store_outcomes
from bentos.routes import RouteTable
from churn.settings import get_settings, load_settings

DECLARED = load_settings(env_file=False)
"""What BentoML needs before a worker starts, from the environment only (no file, no socket)."""
KNOBS = DECLARED.service
ROUTES = RouteTable()


@bentoml.service(
    name=DECLARED.bento_name,
    workers=KNOBS.service_workers,
    traffic={"timeout": 30},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": [] if KNOBS.trace_api == "on" else [".*"]},
)
class ChurnService:
    """Churn probability, decision, risk band and explanations for Telco customers."""

    model_ref = bentoml.models.BentoModel(f"{DECLARED.model_name}:latest")

    def __init__(self) -> None:
        self.answers = Answers.start(get_settings(), self.model_ref)

    def __is_ready__(self) -> bool:
        """Ready when a model is loaded and the prediction log can write (not degraded)."""
        return self.answers.ready

    @bentoml.on_shutdown
    def close(self) -> None:
        """Stop switching, score the queued shadow records, write every queued prediction."""
        self.answers.close()

    @ROUTES.api(
        "/predict",
        scope="predict",
        summary="Churn probability, decision and risk band for one customer",
        request=OneCustomer,
        response=Prediction,
        errors=BY_ID_ERRORS,
    )
    async def predict(
        self, customer: Customer | None = None, customerID: str | None = None
    ) -> Prediction | Response:
        return await self.answers.predict(customer, customerID)

    @ROUTES.api(
        "/predict_batch",
        scope="predict",
        summary="One prediction per record, in order (1..1000 records; concurrent requests "
        "are merged by the adaptive batcher)",
        request=Customers,
        response=BatchPredictions,
        output_spec=False,  # `BatchBody` encodes each request's part of the merged batch
        batchable=KNOBS.batching == "on",
        max_batch_size=KNOBS.batch_max_size,
        max_latency_ms=KNOBS.batch_max_latency_ms,
    )
    async def predict_batch(self, customers: CustomerList) -> BatchBody:
        return self.answers.predictions(customers)

    @ROUTES.whole("/predict_batch")  # a big body is a batch already: no wait in the batcher
    async def predict_batch_whole(self, customers: CustomerList) -> BatchBody:
        return self.answers.predictions(customers)

    @ROUTES.api(
        "/explain",
        scope="predict",
        summary="Churn probability and each input feature's exact contribution",
        request=OneCustomer,
        response=Explanation,
        errors=BY_ID_ERRORS,
    )
    def explain(
        self, customer: Customer | None = None, customerID: str | None = None
    ) -> Explanation | Response:
        return self.answers.explain(customer, customerID)

    @ROUTES.api(
        "/predict_ids",
        scope="predict",
        summary="One prediction per customer ID, in order (1..1000 IDs), on the feature "
        "store's attributes, each with features_as_of",
        request=CustomerIDs,
        response=ByIdPredictions,
        errors=BY_ID_ERRORS,
    )
    def predict_ids(self, customerIDs: list[str]) -> Response:
        return self.answers.predict_by_ids(customerIDs)

    @ROUTES.api(
        "/model_info",
        scope="predict",
        summary="The card of the model this worker serves now, and the experiment",
        request=NoBody,
        response=ModelInfo,
        read_only=True,
    )
    def model_info(self) -> ModelInfo:
        return self.answers.model_info()

    @ROUTES.api(
        "/outcomes",
        scope="admin",
        summary="Observed outcomes into the outcome store (all or none)",
        request=OutcomesBody,
        response=OutcomeCounts,
        errors={422: "Some outcomes are invalid (each named); none stored"},
    )
    def outcomes(self, outcomes: Any = None) -> Response:
        return store_outcomes({"outcomes": outcomes})


ChurnService.add_asgi_middleware(  # type: ignore[attr-defined]
    ContractGuard, routes=ROUTES, service=ChurnService
)
"""The guard (bentos/middleware.py) in front of BentoML's app; built in each worker."""
