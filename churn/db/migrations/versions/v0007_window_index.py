"""An index for the monitoring window: the last N served rows of `prediction_log`.

`churn monitor` reads `WHERE served ORDER BY id DESC LIMIT N` (optionally also `created_at >=
since`). On (served, id) both databases walk the index backwards and stop after N rows, instead
of scanning the whole log and sorting it (churn/monitoring/window.py; a test reads the plans).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "prediction_log"
INDEX = "ix_prediction_log_served_id"


def upgrade() -> None:
    op.create_index(INDEX, TABLE, ["served", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
