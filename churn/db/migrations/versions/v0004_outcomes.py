"""`outcomes`: what actually happened to a customer (churned or not), and when it was observed.

Rows come from `churn outcomes import` and the service's `POST /outcomes`. `customerID` holds
`churn.privacy.customer_key(...)` like the prediction log, so the two join. One customer has at
most one outcome per `observed_at` (the unique index): importing a file twice stores it once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "outcomes"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customerID", sa.String(64), nullable=False),
        sa.Column("churned", sa.Boolean, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
    )
    op.create_index(
        "ux_outcomes_customer_observed", TABLE, ["customerID", "observed_at"], unique=True
    )
    op.create_index("ix_outcomes_observed_at", TABLE, ["observed_at"])


def downgrade() -> None:
    op.drop_table(TABLE)
