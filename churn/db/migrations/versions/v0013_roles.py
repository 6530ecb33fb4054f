"""One database role per part, each granted only what that part does (PostgreSQL only).

The migration itself runs as the database's owner (the migration role: `churn db migrate`, a
one-shot job), so every table is the owner's and no other role can change the schema. The three
roles of the running parts get table privileges from `GRANTS`, the one list of who may do what:

- `churn_service`: write the prediction log, outcomes and its own audit rows (a model switch it
  observed); read serving state and token digests. Never writes tokens or serving state.
- `churn_ui`: the Flask UI and the dashboard: read what they show, write users, campaigns and
  their audit rows. Never tokens, serving state, or the prediction log.
- `churn_monitor`: the monitoring job: read the log and outcomes, delete what retention expired
  (`CHURN_RETENTION_DAYS`) and audit the purge.

Roles are created NOLOGIN when missing (a deployment creates them LOGIN with a password first:
docker/postgres-entrypoint.sh, docs/security.md); `ALTER DEFAULT PRIVILEGES` lets the three roles
use the sequences of tables later migrations add. A later migration that adds a table adds its
grants the same way (tests/db/test_roles.py fails on a table without an entry). SQLite: nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SERVICE, UI, MONITOR = "churn_service", "churn_ui", "churn_monitor"
ROLES = (SERVICE, UI, MONITOR)

GRANTS: dict[str, dict[str, str]] = {
    "alembic_version": {SERVICE: "SELECT", UI: "SELECT", MONITOR: "SELECT"},
    "prediction_log": {SERVICE: "SELECT, INSERT", UI: "SELECT", MONITOR: "SELECT, DELETE"},
    "outcomes": {SERVICE: "SELECT, INSERT", UI: "SELECT", MONITOR: "SELECT, DELETE"},
    "audit_log": {
        SERVICE: "SELECT (id), INSERT",
        UI: "SELECT, INSERT",
        MONITOR: "SELECT, INSERT, DELETE",
    },
    "serving_state": {SERVICE: "SELECT", UI: "SELECT", MONITOR: "SELECT"},
    "api_tokens": {SERVICE: "SELECT"},
    "users": {UI: "SELECT, INSERT, UPDATE, DELETE"},
    "campaigns": {UI: "SELECT, INSERT, UPDATE", MONITOR: "SELECT"},
    "campaign_assignments": {UI: "SELECT, INSERT", MONITOR: "SELECT, DELETE"},
    "campaign_contacts": {UI: "SELECT, INSERT", MONITOR: "SELECT, DELETE"},
    "campaign_holdout": {UI: "SELECT, INSERT", MONITOR: "SELECT"},
    "sign_in_limits": {UI: "SELECT, INSERT, UPDATE, DELETE"},
    "ui_sessions": {UI: "SELECT, INSERT, UPDATE, DELETE"},
}
"""Table -> role -> privileges. Absent: nothing (PostgreSQL's default for a role not the owner).
`SELECT (id)`: an INSERT ... RETURNING id (SQLAlchemy's) reads the new row's id, nothing else."""


def _create_roles() -> None:
    for role in ROLES:
        op.execute(
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} NOLOGIN; END IF; END $$"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _create_roles()
    roles = ", ".join(ROLES)
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, {roles}")
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {roles}")
    for table, granted in GRANTS.items():
        for role, privileges in granted.items():
            op.execute(f"GRANT {privileges} ON {table} TO {role}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {roles}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {roles}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    roles = ", ".join(ROLES)
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE ON SEQUENCES FROM {roles}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {roles}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {roles}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {roles}")
