"""The one place the project makes a SQLAlchemy engine on its database (`CHURN_PREDICTION_DB`).

Each caller names its use; the use picks the pool policy, so the policies are listed here, once:

- `log_writer`: a service worker's prediction log writer (bentos/prediction_log.py) and its
  serving-state poll. Long-lived and pooled; on SQLite the file's folder is made, the connection
  waits `SQLITE_BUSY_S` for another's lock and the file is in WAL mode (readers never block the
  writer); on PostgreSQL stale connections are pinged and a connect gives up after 10 s.
- `token_poll`: a worker's token refresh thread (bentos/auth.py): one pinged pooled connection.
- `ui`: the UIs' user store, sign-in counts and sessions (churn/db/users.py): pooled, for the life
  of the app; on SQLite like `log_writer` (WAL, 30 s busy wait): many threads count tries at once.
- `window`: the monitoring window's read (churn/monitoring/window.py): no pool, and a UTC session
  on PostgreSQL, so a naive UTC bound compares as UTC.
- `once`: everything short-lived (a CLI command, a store call, a migration, a step): no pool, so
  nothing stays open after `dispose()`.

Every engine hides the statement's parameters in its errors and logs (`hide_parameters`): a
failed INSERT of the log would otherwise print a customer's row, a failed sign-in audit the
address and name (docs/security.md, "No raw ID outside the erasable store").
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Literal

import sqlalchemy as sa

from churn.db.migrate import ensure_sqlite_folder
from churn.settings import get_settings

Use = Literal["log_writer", "token_poll", "ui", "window", "once"]
USES: tuple[Use, ...] = ("log_writer", "token_poll", "ui", "window", "once")

SQLITE_BUSY_S = 30.0
"""How long a SQLite connection of the log writer waits for another one's lock."""


def shown_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return repr(url)


def _set_wal(dbapi_conn: Any) -> None:
    """`PRAGMA journal_mode=WAL`, retried while another connection holds the database.

    Switching a new database to WAL needs it to itself, and SQLite answers "database is locked"
    at once, without its busy timeout: two workers starting together on a new file failed
    about one time in seven here (tests/serving/test_prediction_log.py). Once switched, the mode
    is stored in the file and the pragma costs nothing.
    """
    deadline = time.monotonic() + SQLITE_BUSY_S
    delay = 0.01
    while True:
        try:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _log_writer(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)  # or a clear error naming CHURN_PREDICTION_DB
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_S}, hide_parameters=True
        )

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _record: Any) -> None:
            _set_wal(dbapi_conn)
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

        return engine
    connect_args = {"connect_timeout": 10} if url.startswith("postgres") else {}
    return sa.create_engine(
        url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True
    )


def utc_session(url: str) -> dict[str, Any]:
    """PostgreSQL compares `timestamptz` in the session's TimeZone (the server's or database's
    setting, not UTC); a UTC session makes a naive UTC bound mean what it says."""
    if sa.engine.make_url(url).get_backend_name() == "postgresql":
        return {"connect_args": {"options": "-c timezone=UTC"}}
    return {}


def _options(url: str, use: Use) -> dict[str, Any]:
    if use == "token_poll":
        return {"pool_pre_ping": True, "pool_size": 1}
    if use == "ui":
        return {}
    if use == "window":
        return {"poolclass": sa.pool.NullPool, **utc_session(url)}
    if use == "once":
        return {"poolclass": sa.pool.NullPool}
    raise ValueError(f"engine use must be one of {USES}, not {use!r}")


def make_engine(url: str | None = None, use: Use = "once") -> sa.Engine:
    """An engine on `url` (default: the settings' `prediction_db`) with `use`'s pool policy."""
    url = url or get_settings().prediction_db
    if use == "log_writer" or (use == "ui" and url.startswith("sqlite")):
        return _log_writer(url)
    return sa.create_engine(url, hide_parameters=True, **_options(url, use))
