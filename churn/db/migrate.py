"""Running the Alembic migrations in `churn/db/migrations` from code (`churn db migrate`, tests).

A running part (the service, the UIs, the monitoring job) and every `churn.db` helper call `ready`,
never `upgrade`: a SQLite file (one user's own database) behind this code is migrated there; any
other database is only checked, because its migrations are the migration role's one-shot job
(`churn db migrate`; docs/security.md) and the parts' roles may not change the schema. A database
already at `HEAD` costs one read of its revision, not an Alembic run. `upgrade` takes a lock, so
concurrent callers are safe: a PostgreSQL advisory lock, or a lock file next to a SQLite database.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0014"
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


class DatabaseLocationError(RuntimeError):
    """The SQLite file named by CHURN_PREDICTION_DB cannot live where it points."""


def ensure_sqlite_folder(url: sa.URL | str) -> None:
    """Create the folder of a SQLite database file, or say which setting points where, and why."""
    url = sa.make_url(url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    folder = Path(database).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseLocationError(
            f"CHURN_PREDICTION_DB={url}: cannot create the folder {folder}: {exc.strerror}"
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseLocationError(
            f"CHURN_PREDICTION_DB={url}: the folder {folder} is not writable"
        )


@contextlib.contextmanager
def _sqlite_file_lock(engine: sa.Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    ensure_sqlite_folder(engine.url)
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


class SchemaNotCurrentError(RuntimeError):
    """The database is not at this code's revision and this part may not migrate it."""


def ready(engine: sa.Engine) -> None:
    """Migrate a SQLite file behind `HEAD`; check any other database is at `HEAD`, else say what
    to run. One revision read when the database is current (every promotion, token, audit row)."""
    if engine.dialect.name == "sqlite":
        ensure_sqlite_folder(engine.url)
        if current_revision(engine) != HEAD:
            upgrade(engine)
        return
    found = current_revision(engine)
    if found != HEAD:
        where = engine.url.render_as_string(hide_password=True)
        raise SchemaNotCurrentError(
            f"CHURN_PREDICTION_DB={where}: the schema is at revision {found or 'none (empty)'}, "
            f"this code needs {HEAD}: run `churn db migrate` with the migration role first"
        )
