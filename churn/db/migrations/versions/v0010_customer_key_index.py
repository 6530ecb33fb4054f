"""An index on the prediction log's customer key, for the customer's rights.

`churn privacy export` and `erase` find a customer's rows by `customerID`
(churn/control/privacy.py); without this index each request scans the whole log. The outcomes
(`ux_outcomes_customer_observed`, 0004) and the campaign assignments
(`ix_campaign_assignments_customer`, 0008) have theirs already.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLE = "prediction_log"
INDEX = "ix_prediction_log_customer"


def upgrade() -> None:
    op.create_index(INDEX, TABLE, ["customerID"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
