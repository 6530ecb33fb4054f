"""Baseline: `prediction_log` exactly as the service created it before migrations existed.

A database that already holds that table (written by the service before this revision) is
adopted as it is, with every row: its columns are checked, nothing is rewritten.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLE = "prediction_log"
# spelled out, not imported from churn.schema: a revision must not change when the code does
CATEGORICAL = [
    "gender", "Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService",
    "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
    "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod",
]  # fmt: skip
FEATURE_ORDER = [
    "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService",
    "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies", "Contract", "PaperlessBilling",
    "PaymentMethod", "MonthlyCharges", "TotalCharges",
]  # fmt: skip
INTEGER = {"SeniorCitizen", "tenure"}
FLOAT = {"MonthlyCharges", "TotalCharges"}


def _feature_type(name: str) -> sa.types.TypeEngine:
    if name in INTEGER:
        return sa.Integer()
    if name in FLOAT:
        return sa.Float()
    return sa.String(32)


def columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("churn", sa.Boolean, nullable=False),
        *(sa.Column(name, _feature_type(name), nullable=False) for name in FEATURE_ORDER),
        sa.Column("customerID", sa.String(64), nullable=True),
    ]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if inspector.has_table(TABLE):
        present = {c["name"] for c in inspector.get_columns(TABLE)}
        expected = {c.name for c in columns()}
        if present != expected:
            raise RuntimeError(
                f"table {TABLE} exists but is not the pre-migration layout: "
                f"missing {sorted(expected - present)}, unknown {sorted(present - expected)}"
            )
        return
    op.create_table(TABLE, *columns())
    op.create_index("ix_prediction_log_request_id", TABLE, ["request_id"])
    op.create_index("ix_prediction_log_created_at", TABLE, ["created_at"])


def downgrade() -> None:
    op.drop_table(TABLE)
