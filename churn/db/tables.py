"""Every table of the project database, declared once, as it is at the migration head.

The tables are CREATED and CHANGED only by the Alembic migrations in `churn/db/migrations`
(nothing calls `create_all`); these declarations are what the code reads and writes with, and
tests/db/test_migrations.py checks that the migrations make exactly them. The names and columns
of `prediction_log` are fixed by docs/CONTRACT.md.

Who writes and who reads each table: docs/ARCHITECTURE.md ("The project database").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from churn.schema import FEATURES, ID_COLUMN

metadata = sa.MetaData()

_SQL_TYPES: dict[str, Callable[[], Any]] = {
    "categorical": lambda: sa.String(32),
    "binary": sa.Integer,
    "integer": sa.Integer,
    "numeric": sa.Float,
}

prediction_log = sa.Table(
    "prediction_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("churn_probability", sa.Float, nullable=False),
    sa.Column("churn", sa.Boolean, nullable=False),
    *(sa.Column(f.name, _SQL_TYPES[f.kind](), nullable=False) for f in FEATURES),
    sa.Column(ID_COLUMN, sa.String(64), nullable=True),
    # revision 0005: which experiment arm scored the row, and whether a client saw it
    sa.Column("arm", sa.String(16), nullable=False, server_default="champion"),
    sa.Column("served", sa.Boolean, nullable=False, server_default=sa.true()),
    # revision 0007: the monitoring window walks it (churn/monitoring/window.py)
    sa.Index("ix_prediction_log_served_id", "served", "id"),
    # revision 0010: a customer's rows, for export and erasure (churn/control/privacy.py)
    sa.Index("ix_prediction_log_customer", ID_COLUMN),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("from_version", sa.String(64), nullable=True),
    sa.Column("to_version", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customerID", sa.String(64), nullable=False),
    sa.Column("churned", sa.Boolean, nullable=False),
    sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
)

serving_state = sa.Table(
    "serving_state",
    metadata,
    sa.Column("model_name", sa.String(128), primary_key=True),
    sa.Column("production_tag", sa.String(128), nullable=False),
    sa.Column("production_version", sa.String(64), nullable=False),
    sa.Column("experiment", sa.String(16), nullable=False),
    sa.Column("challenger_tag", sa.String(128), nullable=True),
    sa.Column("challenger_version", sa.String(64), nullable=True),
    sa.Column("share", sa.Float, nullable=True),
    sa.Column("salt", sa.String(64), nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("started_by", sa.String(128), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    # revision 0011: `churn auth token create --expires-in`
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
)

USER_NAME_LENGTH = 64
users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(USER_NAME_LENGTH), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # revision 0011: the first admin's generated password must be changed at first sign-in
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
)

# revision 0011: failed sign-ins per account and client address (churn/db/sign_in_guard.py)
sign_in_limits = sa.Table(
    "sign_in_limits",
    metadata,
    sa.Column("key", sa.String(96), primary_key=True),
    sa.Column("tries", sa.Integer, nullable=False),
    sa.Column("last_try_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
)

# revision 0011: the server side of the UIs' sessions (churn/db/sessions.py)
ui_sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(160), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_ui_sessions_subject", "subject"),
)

# revision 0008: retention campaigns (churn/db/campaigns.py, docs/campaigns.md)
campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("rank_rule", sa.String(16), nullable=False),
    sa.Column("budget", sa.Integer, nullable=False),
    sa.Column("control_share", sa.Float, nullable=False),
    sa.Column("offer_cost", sa.Float, nullable=False),
    sa.Column("saved_value", sa.Float, nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("n_treated", sa.Integer, nullable=False),
    sa.Column("n_control", sa.Integer, nullable=False),
    sa.Column("source_file", sa.String(255), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("learned", sa.Text, nullable=True),
    # revision 0012: the design fixed at plan time
    sa.Column("horizon_days", sa.Integer, nullable=True),
    sa.Column("baseline_churn", sa.Float, nullable=True),
    sa.Column("min_detectable_uplift", sa.Float, nullable=True),
)
campaign_assignments = sa.Table(
    "campaign_assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("campaign_id", sa.Integer, nullable=False),
    sa.Column(ID_COLUMN, sa.String(64), nullable=False),
    sa.Column("arm", sa.String(16), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("churn_probability", sa.Float, nullable=False),
    sa.Column("expected_value", sa.Float, nullable=False),
    sa.Column("predicted_uplift", sa.Float, nullable=True),
    # revision 0012: the segments recorded at plan time
    sa.Column("risk_decile", sa.Integer, nullable=True),
    sa.Column("contract", sa.String(32), nullable=True),
    sa.Column("tenure_band", sa.String(16), nullable=True),
)
# revision 0012: who of a treated arm was reached, and the global hold-out
campaign_contacts = sa.Table(
    "campaign_contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("campaign_id", sa.Integer, nullable=False),
    sa.Column(ID_COLUMN, sa.String(64), nullable=False),
    sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=False),
)
campaign_holdout = sa.Table(
    "campaign_holdout",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
)

# revision 0014: every customer event handled by `churn events consume` (churn/db/events.py)
customer_events = sa.Table(
    "customer_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column(ID_COLUMN, sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("cause", sa.String(256), nullable=False),
    sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("churn_probability", sa.Float, nullable=False),
    sa.Column("previous_probability", sa.Float, nullable=False),
    sa.Column("alert", sa.String(32), nullable=True),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
)


def row_by(conn: sa.Connection, key: sa.Column[Any], value: Any) -> sa.RowMapping | None:
    """The row of `key`'s table whose `key` (a unique column) is `value`; None when none is."""
    return conn.execute(sa.select(key.table).where(key == value)).mappings().first()
