"""Running the Alembic migrations in `churn/db/migrations` from code (service start, tests).

Every service worker calls `upgrade` at start; a lock makes that safe when several start at
once: a PostgreSQL advisory lock, or a lock file next to a SQLite database.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0008"
PG_LOCK_KEY = 0x636875726E  # "churn": one advisory lock id for the project's migrations


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _sqlite_file_lock(engine: sa.Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate the database to `revision`; concurrent callers wait for each other."""
    if engine.dialect.name == "sqlite":
        with _sqlite_file_lock(engine), engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # released at commit; a second worker waits here, then finds nothing left to do
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)
