"""Test helpers: prediction-log rows per the contract, and a stand-in production model version.

`register_production_model` is what the training pipeline provides in the real flow (a ZenML model
version with `reference_data` and the sklearn pipeline, promoted to production). The end-to-end test
uses the shared `trained_model` fixture instead when it exists.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from churn.schema import FEATURE_NAMES, FEATURES, ID_COLUMN


def log_table(metadata: sa.MetaData) -> sa.Table:
    """The `prediction_log` table exactly as docs/CONTRACT.md lists it."""
    kinds = {"integer": sa.Integer, "binary": sa.Integer, "numeric": sa.Float}
    return sa.Table(
        "prediction_log",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime),
        sa.Column("model_version", sa.String(64)),
        sa.Column("churn_probability", sa.Float),
        sa.Column("churn", sa.Boolean),
        *(sa.Column(f.name, kinds.get(f.kind, sa.String(64))) for f in FEATURES),
        sa.Column(ID_COLUMN, sa.String(64), nullable=True),
    )


def write_log(
    db_url: str,
    customers: pd.DataFrame,
    probabilities: np.ndarray | None = None,
    model_version: str = "1",
    created_at: datetime | None = None,
) -> None:
    """Append one logged prediction per customer, as the service would."""
    probs = np.full(len(customers), 0.3) if probabilities is None else probabilities
    when = created_at or datetime.now(UTC).replace(tzinfo=None)
    rows = customers[[*FEATURE_NAMES, ID_COLUMN]].to_dict("records")
    for i, row in enumerate(rows):
        row.update(
            request_id=uuid.uuid4().hex,
            created_at=when + timedelta(milliseconds=i),
            model_version=model_version,
            churn_probability=float(probs[i]),
            churn=bool(probs[i] >= 0.5),
        )
    engine = sa.create_engine(db_url)
    metadata = sa.MetaData()
    table = log_table(metadata)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(table), rows)
    engine.dispose()


def clear_log(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS prediction_log"))
    engine.dispose()
