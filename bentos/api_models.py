"""Response models of the HTTP API (requests use `churn.schema.CustomerRecord`).

Shapes are fixed by docs/CONTRACT.md.
"""

from __future__ import annotations

from itertools import product
from operator import itemgetter
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, model_validator

from churn.schema import (
    EXAMPLE_RECORD,
    INTERNET_ADDONS,
    MAX_BATCH_RECORDS,
    NO_INTERNET,
    NO_PHONE,
    YES_NO,
    CustomerRecord,
    consistency_problems,
)

RiskBand = Literal["low", "medium", "high"]

SERVICE_FIELDS = ("PhoneService", "MultipleLines", "InternetService", *INTERNET_ADDONS)
"""The fields the cross-field rule reads (an add-on only with the service it adds to)."""
_service_values = itemgetter(*SERVICE_FIELDS)


def _consistent_service_values() -> frozenset[tuple[str, ...]]:
    """Every consistent (phone, lines, internet, add-ons...) tuple: 3 x 129 = 387 of them."""
    phone = [("Yes", lines) for lines in YES_NO] + [("No", NO_PHONE)]
    internet = [("No", *[NO_INTERNET] * len(INTERNET_ADDONS))] + [
        (kind, *addons)
        for kind in ("DSL", "Fiber optic")
        for addons in product(YES_NO, repeat=len(INTERNET_ADDONS))
    ]
    return frozenset((*p, *i) for p in phone for i in internet)


CONSISTENT_SERVICES = _consistent_service_values()
"""On field-validated values, membership here == `consistency_problems(record) == []`
(tests/serving/test_scorer.py checks every combination): one set lookup per record instead of
the rule's eight comparisons and list, on the hot path of every request."""


# `churn.schema.CustomerRecord` with its example under OpenAPI 3.0's `example` key: BentoML's
# OpenAPI generator fails on JSON Schema's `examples`, which the core model uses.
class Customer(CustomerRecord):
    """One Telco customer: the 19 model inputs (customerID optional)."""

    model_config = ConfigDict(title="CustomerRecord", json_schema_extra={"example": EXAMPLE_RECORD})

    @model_validator(mode="after")
    def _consistent(self) -> Customer:
        """The core rule on the validated fields (the core model_dump doubles the cost)."""
        if _service_values(self.__dict__) in CONSISTENT_SERVICES:
            return self
        problems = consistency_problems(self.__dict__)
        if problems:
            raise ValueError("; ".join(f"{field}: {msg}" for field, msg in problems))
        return self


CustomerList = Annotated[
    list[Customer],
    Field(min_length=1, max_length=MAX_BATCH_RECORDS, description="1..1000 customer records"),
]


CustomerId = Annotated[str, Field(min_length=1, max_length=64, description="a customer ID")]


class OneCustomer(BaseModel):
    """The body of `/predict` and `/explain`: `{"customer": {...}}` or `{"customerID": "..."}`
    (the attributes then come from the feature store's online store, docs/features.md)."""

    model_config = ConfigDict(extra="forbid")
    customer: Customer | None = None
    customerID: CustomerId | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        """Before the fields: `{"client": ...}` is told what to send, not only what it sent."""
        if isinstance(data, dict) and (data.get("customer") is None) == (
            data.get("customerID") is None
        ):
            raise ValueError('send exactly one of "customer" (the record) or "customerID"')
        return data


class Customers(BaseModel):
    """The body of `/predict_batch`: `{"customers": [...]}` (1..1000), nothing else."""

    model_config = ConfigDict(extra="forbid")
    customers: CustomerList


class CustomerIDs(BaseModel):
    """The body of `/predict_ids`: `{"customerIDs": [...]}` (1..1000), scored on the online
    store's attributes. Its own route: BentoML's batchable `/predict_batch` takes one argument."""

    model_config = ConfigDict(extra="forbid")
    customerIDs: Annotated[
        list[CustomerId], Field(min_length=1, max_length=MAX_BATCH_RECORDS, description="1..1000")
    ]


class Prediction(BaseModel):
    churn_probability: float = Field(ge=0, le=1, description="P(churn)")
    churn: bool = Field(description="churn_probability >= threshold")
    risk_band: RiskBand = Field(description="low < 0.3 <= medium < 0.6 <= high")
    threshold: float = Field(description="the model's decision threshold")
    model_version: str = Field(description="model version (ZenML version name)")
    arm: str = Field(
        default="champion",
        description='the experiment arm that answered: "champion" or "challenger" (A/B)',
    )

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


class BatchPredictions(BaseModel):
    """`/predict_batch`'s answer (documented; encoded by `BatchBody`)."""

    predictions: list[Prediction]
    model_version: str


class ByIdPrediction(Prediction):
    """A prediction made on the feature store's attributes: when they were extracted."""

    features_as_of: str = Field(description="UTC time of the extract the attributes come from")


class ByIdPredictions(BaseModel):
    """`/predict_ids`'s answer: one prediction per ID, in order."""

    predictions: list[ByIdPrediction]
    model_version: str


def batch_body(predictions: list[dict[str, Any]]) -> bytes:
    """`/predict_batch`'s contract body from the service's prediction dicts (one encoder):
    plain dicts by pydantic-core's Rust encoder, since building and dumping 1,000 pydantic
    models costs ~30 ms and `json.dumps` is ~10x slower (the same values once parsed)."""
    version = predictions[0]["model_version"] if predictions else ""
    return pydantic_core.to_json({"predictions": predictions, "model_version": version})


BatchBody = Annotated[
    list[dict[str, Any]],
    PlainSerializer(batch_body, return_type=bytes),
    WithJsonSchema({"type": "object", "title": "BatchPredictions"}),  # /docs.json has it whole
]
"""The return type of the batchable `/predict_batch`: the adaptive batcher splits the merged
list per request, and BentoML sends each part as this type's bytes (the contract's shape)."""


class Contribution(BaseModel):
    feature: str
    value: Any
    contribution: float


class Explanation(BaseModel):
    churn_probability: float
    base_value: float = Field(
        description="base_value + sum(contributions) = the model's margin (log-odds or "
        "probability, see method); for linear models the log-odds of the training-mean customer"
    )
    method: str = Field(
        description="linear_shapley_log_odds (exact Shapley values, log-odds), tree_shap_log_odds "
        "or tree_shap_probability (exact path-dependent TreeSHAP); mean_occlusion otherwise"
    )
    contributions: list[Contribution] = Field(description="sorted by |contribution|, descending")


class ModelInfo(BaseModel):
    """The card of the model this worker serves now, and the experiment running."""

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
    arm: str = "champion"
    experiment: dict[str, Any] = Field(default_factory=dict, description="mode: none|shadow|ab")


class NoBody(BaseModel):
    """A route without input: `{}` (BentoML's clients send it; GET sends nothing)."""

    model_config = ConfigDict(extra="forbid")
