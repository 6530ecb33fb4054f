"""`churn_service`: the BentoML service in front of the latest `telco_churn` model.

Run it with `make serve` (or `bentoml serve bentos.service:ChurnService`). API shapes are fixed
by docs/CONTRACT.md; the design choices and measurements are in docs/serving.md.
"""

from __future__ import annotations

from typing import Annotated, Any

import bentoml
from pydantic import Field

from bentos.api_models import (
    MAX_BATCH_RECORDS,
    BatchPredictions,
    Contribution,
    Explanation,
    ModelInfo,
    Prediction,
)
from bentos.model_loader import LoadedModel, load
from churn.schema import CustomerRecord, risk_band, schema_description
from churn.settings import get_settings

SETTINGS = get_settings()

CustomerList = Annotated[
    list[CustomerRecord],
    Field(min_length=1, max_length=MAX_BATCH_RECORDS, description="1..1000 customer records"),
]


@bentoml.service(
    name=SETTINGS.bento_name,
    workers=2,
    traffic={"timeout": 10, "max_concurrency": 512},
    logging={"access": {"enabled": False}},
)
class ChurnService:
    """Churn probability, decision, risk band and explanations for Telco customers."""

    model_ref = bentoml.models.BentoModel(f"{SETTINGS.model_name}:latest")

    def __init__(self) -> None:
        self.model: LoadedModel = load(self.model_ref)
        card = self.model.card
        self.threshold = card.threshold
        self.version = card.model_version

    def __is_ready__(self) -> bool:
        return getattr(self, "model", None) is not None

    def _predictions(self, records: list[CustomerRecord]) -> list[Prediction]:
        features = [r.features() for r in records]
        probs = self.model.scorer.proba(features)
        return [
            Prediction(
                churn_probability=p,
                churn=p >= self.threshold,
                risk_band=risk_band(p),  # type: ignore[arg-type]
                threshold=self.threshold,
                model_version=self.version,
            )
            for p in probs.tolist()
        ]

    @bentoml.api(route="/predict")
    async def predict(self, customer: CustomerRecord) -> Prediction:
        """Churn probability, decision at the model's threshold and risk band for one customer."""
        return self._predictions([customer])[0]

    @bentoml.api(
        route="/predict_batch",
        batchable=True,
        max_batch_size=MAX_BATCH_RECORDS,
        max_latency_ms=1000,
        output_spec=BatchPredictions,
    )
    async def predict_batch(self, customers: CustomerList) -> list[Prediction]:
        """One prediction per record, in order (1..1000 records; concurrent requests are merged)."""
        return self._predictions(customers)

    @bentoml.api(route="/explain")
    async def explain(self, customer: CustomerRecord) -> Explanation:
        """Churn probability and each input feature's contribution, largest magnitude first."""
        exp = self.model.scorer.explain(customer.features())
        return Explanation(
            churn_probability=exp.churn_probability,
            base_value=exp.base_value,
            method=exp.method,
            contributions=[Contribution(**vars(c)) for c in exp.contributions],
        )

    @bentoml.api(route="/model_info")
    async def model_info(self) -> ModelInfo:
        """Model name and version, MLflow run, training date, test metrics, threshold, schema."""
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
