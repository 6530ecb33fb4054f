"""`customer_events`: every customer event `churn events consume` handled, with its re-score.

One row per `event_id` (unique): the consumer's record of what it has handled, which makes
handling idempotent under Kafka's at-least-once delivery (a redelivered event is skipped, or
finished when `done` is false), and the cause of the prediction-log row it wrote
(`request_id` = `ev:<event_id>`). `customerID` holds `churn.privacy.customer_key(...)` like the
prediction log; `alert` names the trigger of a retention alert (`crossed`, `rose`,
`cancellation_call`) or is null.

Grants, the pattern of 0013 (tests/security/test_db_roles.py reads every revision's GRANTS): the
consumer runs as `churn_service` (it writes prediction-log rows as the service does), the
dashboard reads the alerts as `churn_ui`, the monitoring job's retention purge deletes as
`churn_monitor`.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLE = "customer_events"
SERVICE, UI, MONITOR = "churn_service", "churn_ui", "churn_monitor"
GRANTS: dict[str, dict[str, str]] = {
    TABLE: {SERVICE: "SELECT, INSERT, UPDATE", UI: "SELECT", MONITOR: "SELECT, DELETE"},
}
"""Table -> role -> privileges, as 0013's GRANTS."""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("customerID", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("cause", sa.String(256), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("previous_probability", sa.Float, nullable=False),
        sa.Column("alert", sa.String(32), nullable=True),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_customer_events_customerID", TABLE, ["customerID"])
    op.create_index("ix_customer_events_handled_at", TABLE, ["handled_at"])
    if op.get_bind().dialect.name == "postgresql":
        for table, granted in GRANTS.items():
            for role, privileges in granted.items():
                op.execute(f"GRANT {privileges} ON {table} TO {role}")


def downgrade() -> None:
    op.drop_table(TABLE)
