"""Sign-in security (#34): failed sign-ins counted across workers, revocable UI sessions, forced
password changes and expiring API tokens.

- `sign_in_limits`: one row per account (`account:<name>`) and per client address
  (`address:<ip>`): tries in the window and the end of the current lockout
  (churn/db/sign_in_guard.py). Shared by both UIs and every worker and pod.
- `ui_sessions`: the server side of a UI session (churn/db/sessions.py); the cookie holds a random
  id, the table its SHA-256, so sign-out and an admin's revoke end it everywhere.
- `users.must_change_password` (the first admin's generated password) and
  `users.password_changed_at`.
- `api_tokens.expires_at`: `churn auth token create --expires-in 30d`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # spelled out, not imported from churn.db.tables: a revision must not change when the code does
    op.create_table(
        "sign_in_limits",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("last_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "ui_sessions",
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
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("must_change_password")
    op.drop_table("ui_sessions")
    op.drop_table("sign_in_limits")
