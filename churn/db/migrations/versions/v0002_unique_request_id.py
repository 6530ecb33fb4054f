"""`request_id` becomes unique, so that the writer's retries can never store a row twice.

A retried insert whose first commit did reach the database (a connection lost during COMMIT)
would otherwise double the row. Older logs could hold such doubles: each is kept, its
`request_id` suffixed with `~<id>`, so no row is lost.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLE = "prediction_log"
INDEX = "ix_prediction_log_request_id"


def upgrade() -> None:
    bind = op.get_bind()
    suffix = sa.literal("~") + sa.cast(sa.column("id"), sa.String)
    log = sa.table(TABLE, sa.column("id"), sa.column("request_id"))
    firsts = sa.select(sa.func.min(log.c.id)).group_by(log.c.request_id)
    bind.execute(
        log.update()
        .where(log.c.id.not_in(firsts.scalar_subquery()))
        .values(request_id=sa.func.substr(log.c.request_id, 1, 40, type_=sa.String) + suffix)
    )
    # a log made by other tools may lack the plain index: drop it only where it exists
    if any(i["name"] == INDEX for i in sa.inspect(bind).get_indexes(TABLE)):
        op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, ["request_id"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, ["request_id"])
