"""`churn_service`: the BentoML service in front of the latest `telco_churn` model.

Run it with `make serve` (or `bentoml serve bentos.service:ChurnService`). API shapes are fixed
by docs/CONTRACT.md; the design choices and measurements are in docs/serving.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import bentoml
from bentoml.exceptions import ServiceUnavailable
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bentos import metrics, middleware
from bentos.api_models import (
    BatchPredictions,
    Contribution,
    Customer,
    Explanation,
    ModelInfo,
    Prediction,
)
from bentos.model_loader import LoadedModel, load
from bentos.prediction_log import (
    PredictionLog,
    PredictionLogConfigError,
    PredictionLogFull,
    exit_on_fatal,
)
from bentos.settings import load_service_settings
from churn.schema import MAX_BATCH_RECORDS, CustomerRecord, risk_band, schema_description
from churn.settings import get_settings

SETTINGS = get_settings()
KNOBS = load_service_settings()
"""Workers, batching, overload and tracing (`bentos/settings.py`); a bad value stops here."""

CustomerList = Annotated[
    list[Customer],
    Field(min_length=1, max_length=MAX_BATCH_RECORDS, description="1..1000 customer records"),
]


async def _model_info_view(request: Request) -> JSONResponse:
    """`GET /model_info`: the card of the model this worker loaded (BentoML's current service)."""
    service: ChurnService = bentoml.get_current_service()
    return JSONResponse(service.info.model_dump(mode="json"))


MODEL_INFO_APP = Starlette(routes=[Route("/model_info", _model_info_view, methods=["GET"])])
"""A GET route mounted the BentoML way (`bentoml.asgi_app`): `@bentoml.api` routes are POST only."""


@bentoml.asgi_app(MODEL_INFO_APP, path="/", name="model_info")
@bentoml.service(
    name=SETTINGS.bento_name,
    workers=KNOBS.service_workers,
    traffic={"timeout": 30},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": [] if KNOBS.trace_api == "on" else [".*"]},
)
class ChurnService:
    """Churn probability, decision, risk band and explanations for Telco customers."""

    model_ref = bentoml.models.BentoModel(f"{SETTINGS.model_name}:latest")

    def __init__(self) -> None:
        self.model: LoadedModel | None = None
        self.model = load(self.model_ref)
        card = self.model.card
        self.threshold = card.threshold
        self.version = card.model_version
        self.info = self._model_info()
        metrics.record_model(self.version, card.model_type, card.trained_at.timestamp())
        try:
            self.log = PredictionLog(
                SETTINGS.prediction_db,
                on_written=metrics.log_written_total.inc,
                on_backlog=metrics.log_backlog.set,
            )
        except PredictionLogConfigError as exc:  # a bad CHURN_PREDICTION_DB stops the server
            exit_on_fatal(exc)

    def __is_ready__(self) -> bool:
        """Ready when the model is loaded and the prediction log can write (not degraded)."""
        return self.model is not None and self.log.ready

    @bentoml.on_shutdown
    def close_prediction_log(self) -> None:
        """Write every queued prediction before the worker exits."""
        self.log.close()

    def _predictions(self, records: Sequence[CustomerRecord]) -> list[dict[str, Any]]:
        """Prediction dicts in the contract's shape, logged and counted."""
        assert self.model is not None
        # validated pydantic fields as plain dicts (model_dump costs ~20 µs a record);
        # the encoder ignores customerID, the prediction log keeps it
        self._refuse_when_log_full()
        fields = [r.__dict__ for r in records]
        probs = self.model.scorer.proba(fields).tolist()
        decisions = [p >= self.threshold for p in probs]
        self._log(fields, probs, decisions)
        metrics.record_predictions(probs, decisions)
        return [
            {
                "churn_probability": p,
                "churn": d,
                "risk_band": risk_band(p),
                "threshold": self.threshold,
                "model_version": self.version,
            }
            for p, d in zip(probs, decisions, strict=True)
        ]

    def _log(self, fields: list[dict[str, Any]], probs: list[float], decisions: list[bool]) -> None:
        now = datetime.now(UTC)
        call_id = uuid.uuid4().hex
        single = len(fields) == 1
        rows = [
            {
                **rec,
                "request_id": call_id if single else f"{call_id}-{i}",
                "created_at": now,
                "model_version": self.version,
                "churn_probability": p,
                "churn": d,
            }
            for i, (rec, p, d) in enumerate(zip(fields, probs, decisions, strict=True))
        ]
        try:
            self.log.append(rows)
        except PredictionLogFull as exc:
            raise ServiceUnavailable(str(exc)) from None

    def _refuse_when_log_full(self) -> None:
        """A quick 503 (the middleware adds Retry-After) before scoring what could not be logged."""
        if self.log.full:
            raise ServiceUnavailable("prediction log backlog is full; retry later")

    @bentoml.api(route="/predict")
    async def predict(self, customer: Customer) -> Prediction:
        """Churn probability, decision at the model's threshold and risk band for one customer."""
        assert self.model is not None
        # the single-record path: no arrays, one log row, two metric writes (docs/serving.md)
        self._refuse_when_log_full()
        fields = customer.__dict__
        p = self.model.scorer.proba_one(fields)
        decision = p >= self.threshold
        self._log([fields], [p], [decision])
        metrics.record_predictions((p,), (decision,))
        return Prediction.model_construct(
            churn_probability=p,
            churn=decision,
            risk_band=risk_band(p),
            threshold=self.threshold,
            model_version=self.version,
        )

    @bentoml.api(
        route="/predict_batch",
        batchable=KNOBS.batching == "on",
        max_batch_size=KNOBS.batch_max_size,
        max_latency_ms=KNOBS.batch_max_latency_ms,
        output_spec=BatchPredictions,
    )
    async def predict_batch(self, customers: CustomerList) -> list[dict[str, Any]]:
        """One prediction per record, in order (1..1000 records; concurrent requests are merged)."""
        return self._predictions(customers)

    @bentoml.api(route="/explain")
    async def explain(self, customer: Customer) -> Explanation:
        """Churn probability and each input feature's contribution, largest magnitude first."""
        assert self.model is not None
        exp = self.model.scorer.explain(customer.features())
        return Explanation(
            churn_probability=exp.churn_probability,
            base_value=exp.base_value,
            method=exp.method,
            contributions=[Contribution(**vars(c)) for c in exp.contributions],
        )

    def _model_info(self) -> ModelInfo:
        """Model name and version, MLflow run, training date, test metrics, threshold, schema."""
        assert self.model is not None
        card = self.model.card
        candidates: list[dict[str, Any]] = [c.model_dump(mode="json") for c in card.candidates]
        return ModelInfo(
            model_name=card.model_name,
            model_version=card.model_version,
            mlflow_run_id=card.mlflow_run_id,
            trained_at=card.trained_at.isoformat(),
            model_type=card.model_type,
            threshold=card.threshold,
            metrics=card.metrics,
            candidates=candidates,
            features=schema_description(),
            bentoml_tag=self.model.tag,
        )


ChurnService.add_asgi_middleware(  # type: ignore[attr-defined]
    middleware.ContractGuard, max_in_flight=KNOBS.max_in_flight
)
