"""`serving_state`: which model every service worker serves, and the running experiment.

One row per model name: the production BentoML model (tag and ZenML version) and the experiment
(none, shadow or ab; the challenger's tag and version, its share, the A/B salt, who started it and
when). Services poll it and switch models live (bentos/live_model.py). `prediction_log` gains
`arm` (champion or challenger) and `served` (false for shadow rows, which no client saw).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "serving_state"
LOG = "prediction_log"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("model_name", sa.String(128), primary_key=True),
        sa.Column("production_tag", sa.String(128), nullable=False),
        sa.Column("production_version", sa.String(64), nullable=False),
        sa.Column("experiment", sa.String(16), nullable=False, server_default="none"),
        sa.Column("challenger_tag", sa.String(128), nullable=True),
        sa.Column("challenger_version", sa.String(64), nullable=True),
        sa.Column("share", sa.Float, nullable=True),
        sa.Column("salt", sa.String(64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column(LOG, sa.Column("arm", sa.String(16), nullable=False, server_default="champion"))
    op.add_column(LOG, sa.Column("served", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table(LOG) as batch:
        batch.drop_column("served")
        batch.drop_column("arm")
    op.drop_table(TABLE)
