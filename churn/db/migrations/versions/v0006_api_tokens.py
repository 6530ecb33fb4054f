"""`api_tokens`: the service's API tokens, as SHA-256 digests with a scope (churn/auth.py).

In the project database so every service worker and pod sees the same tokens. A revoked token
keeps its row (with `revoked_at`) so `churn auth token list` shows what existed; the service
loads only the rows without it.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "api_tokens"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ux_api_tokens_token_hash", TABLE, ["token_hash"], unique=True)
    op.create_index("ix_api_tokens_name", TABLE, ["name"])


def downgrade() -> None:
    op.drop_table(TABLE)
