"""`users`: the UIs' sign-in accounts, made by the migrations like every other table.

Before this revision the Flask UI made the table itself (`metadata.create_all` on first use). A
database that already holds it is adopted as it is, with every user: its columns are checked,
nothing is rewritten.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = "users"


def columns() -> list[sa.Column]:
    # spelled out, not imported from churn.db.tables: a revision must not change when the code does
    return [
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if inspector.has_table(TABLE):
        present = {c["name"] for c in inspector.get_columns(TABLE)}
        expected = {c.name for c in columns()}
        if present != expected:
            raise RuntimeError(
                f"table {TABLE} exists but is not the UI's layout: "
                f"missing {sorted(expected - present)}, unknown {sorted(present - expected)}"
            )
        return
    op.create_table(TABLE, *columns())


def downgrade() -> None:
    op.drop_table(TABLE)
