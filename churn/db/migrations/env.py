"""Alembic environment: the connection comes from `churn.db.migrate` or, for the `alembic` CLI
(`alembic upgrade head` in the repository root), from `CHURN_PREDICTION_DB`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from churn.db.engine import make_engine
from churn.db.migrate import PG_LOCK_KEY
from churn.settings import get_settings


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if context.is_offline_mode():
    context.configure(url=get_settings().prediction_db, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    _run(connection)
else:
    engine = make_engine()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        _run(conn)
    engine.dispose()
