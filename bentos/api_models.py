"""Response models of the HTTP API (requests use `churn.schema.CustomerRecord`).

Shapes are fixed by docs/CONTRACT.md.
"""

from __future__ import annotations

from typing import Any, Literal

from _bentoml_sdk.io_models import IODescriptor
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from churn.schema import EXAMPLE_RECORD, CustomerRecord

MAX_BATCH_RECORDS = 1000
RiskBand = Literal["low", "medium", "high"]


class Customer(CustomerRecord):
    """`churn.schema.CustomerRecord`, with its example in OpenAPI 3.0's `example` key.

    BentoML's OpenAPI generator rejects JSON Schema's `examples`, which the core model uses.
    """

    model_config = ConfigDict(title="CustomerRecord", json_schema_extra={"example": EXAMPLE_RECORD})


class Prediction(BaseModel):
    churn_probability: float = Field(ge=0, le=1, description="P(churn)")
    churn: bool = Field(description="churn_probability >= threshold")
    risk_band: RiskBand = Field(description="low < 0.3 <= medium < 0.6 <= high")
    threshold: float = Field(description="the model's decision threshold")
    model_version: str = Field(description="model version (ZenML version name)")

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "churn_probability": 0.62,
                "churn": True,
                "risk_band": "high",
                "threshold": 0.5,
                "model_version": "3",
            }
        }
    )


class BatchPredictions(IODescriptor):
    """`/predict_batch` output: wraps the list the batcher hands back in the contract shape."""

    predictions: list[Prediction]
    model_version: str

    @classmethod
    async def to_http_response(cls, obj: Any, serde: Any) -> Response:
        if isinstance(obj, list):
            version = obj[0].model_version if obj else ""
            obj = cls(predictions=obj, model_version=version)
        return await super().to_http_response(obj, serde)


class Contribution(BaseModel):
    feature: str
    value: Any
    contribution: float


class Explanation(BaseModel):
    churn_probability: float
    base_value: float = Field(description="value at the training-mean customer (see method)")
    method: str = Field(description="linear_log_odds (exact) or mean_occlusion (tree models)")
    contributions: list[Contribution] = Field(description="sorted by |contribution|, descending")


class ModelInfo(BaseModel):
    model_name: str
    model_version: str
    mlflow_run_id: str | None
    trained_at: str
    model_type: str
    threshold: float
    metrics: dict[str, float]
    candidates: list[dict[str, Any]]
    features: list[dict[str, Any]]
    bentoml_tag: str
