"""The customer entity, keyed by `customerID`, and the Telco attributes in three feature views.

Every value carries the event timestamp of the extract it came from (`event_timestamp`, the
`--as-of` of `churn features ingest`) and the time it was ingested (`created`), so a training set
joins each label to the attributes as they were when the outcome was observed. The views differ
only in their columns; the source (a Parquet folder or a PostgreSQL table) is the caller's.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from churn.schema import FEATURES, ID_COLUMN
from feature_repo import import_feast

if TYPE_CHECKING:
    from feast import Entity, FeatureView
    from feast.data_source import DataSource

# Feast is imported where the objects are built, never at import: `import feast` creates a
# temporary folder and sets PROMETHEUS_MULTIPROC_DIR for the whole process (feast.metrics).

PROJECT = "churn"
EVENT_TIMESTAMP, CREATED = "event_timestamp", "created"
TTL = timedelta(days=3650)
"""How far back a point-in-time join looks, and where the first `materialize` starts: ten years,
longer than any customer's history here (Feast needs a TTL to materialize incrementally)."""

VIEWS: dict[str, tuple[str, ...]] = {
    "account": (
        "gender", "SeniorCitizen", "Partner", "Dependents", "tenure",
        "Contract", "PaperlessBilling", "PaymentMethod",
    ),
    "services": (
        "PhoneService", "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup",
        "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies",
    ),
    "billing": ("MonthlyCharges", "TotalCharges"),
}  # fmt: skip
"""Feature view -> its fields; together exactly the 19 model inputs of `churn.schema`."""

_KIND = {f.name: f.kind for f in FEATURES}


@cache
def customer() -> Entity:
    """The `customer` entity, keyed by `customerID`."""
    import_feast()
    from feast import Entity
    from feast.value_type import ValueType

    return Entity(
        name="customer",
        join_keys=[ID_COLUMN],
        value_type=ValueType.STRING,
        description="A Telco customer, by the customerID of every extract",
    )


def feature_views(source: DataSource) -> list[FeatureView]:
    """The three views over `source` (one row per customer and extract)."""
    import_feast()
    from feast import FeatureView, Field
    from feast.types import Float64, Int64, String

    types = {"categorical": String, "binary": Int64, "integer": Int64, "numeric": Float64}
    return [
        FeatureView(
            name=name,
            entities=[customer()],
            ttl=TTL,
            schema=[Field(name=col, dtype=types[_KIND[col]]) for col in columns],
            source=source,
            online=True,
            description=f"Telco {name} attributes",
        )
        for name, columns in VIEWS.items()
    ]


def feature_refs() -> list[str]:
    """`view:field` for the 19 inputs, in `churn.schema` order."""
    view_of = {col: name for name, columns in VIEWS.items() for col in columns}
    return [f"{view_of[f.name]}:{f.name}" for f in FEATURES]
