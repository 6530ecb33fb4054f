"""The prediction log: every served prediction, appended to `CHURN_PREDICTION_DB` in batches.

Requests only put rows on an in-memory queue; a background thread drains it and writes many rows
per transaction, so no request waits for the database. `close()` drains everything that is still
queued, so a graceful shutdown loses nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from churn.schema import FEATURES, ID_COLUMN

log = logging.getLogger(__name__)

TABLE_NAME = "prediction_log"
MAX_ROWS_PER_WRITE = 2000
_STOP = object()

_SQL_TYPES: dict[str, Callable[[], Any]] = {
    "categorical": lambda: sa.String(32),
    "binary": sa.Integer,
    "integer": sa.Integer,
    "numeric": sa.Float,
}


def define_table(metadata: sa.MetaData) -> sa.Table:
    """`prediction_log` as fixed by docs/CONTRACT.md."""
    return sa.Table(
        TABLE_NAME,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("churn", sa.Boolean, nullable=False),
        *(sa.Column(f.name, _SQL_TYPES[f.kind](), nullable=False) for f in FEATURES),
        sa.Column(ID_COLUMN, sa.String(64), nullable=True),
    )


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def create_table(engine: sa.Engine) -> sa.Table:
    metadata = sa.MetaData()
    table = define_table(metadata)
    try:
        metadata.create_all(engine, checkfirst=True)
    except OperationalError:
        # another worker created it between the check and the CREATE
        if not sa.inspect(engine).has_table(TABLE_NAME):
            raise
    return table


class PredictionLog:
    """Queue + writer thread. `on_written(n)` and `on_backlog(n)` feed the metrics."""

    def __init__(
        self,
        url: str,
        on_written: Callable[[int], None] = lambda n: None,
        on_backlog: Callable[[int], None] = lambda n: None,
    ) -> None:
        self.engine = make_engine(url)
        self.table = create_table(self.engine)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._on_written = on_written
        self._on_backlog = on_backlog
        self.written = 0
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self._pending += len(rows)
        self._queue.put(rows)

    @property
    def backlog(self) -> int:
        """Rows accepted but not yet written."""
        return self._pending

    def close(self, timeout: float = 30.0) -> None:
        """Write everything still queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self.engine.dispose()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            rows: list[Mapping[str, Any]] = []
            item = first
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    rows.extend(item)
                if stopping or len(rows) >= MAX_ROWS_PER_WRITE:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if stopping:
                rows.extend(self._drain())
            self._write(rows)

    def _drain(self) -> list[Mapping[str, Any]]:
        rows: list[Mapping[str, Any]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return rows
            if item is not _STOP:
                rows.extend(item)

    def _write(self, rows: list[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if self._insert(rows):
            self.written += len(rows)
            self._on_written(len(rows))
        with self._lock:
            self._pending -= len(rows)
            pending = self._pending
        self._on_backlog(pending)

    def _insert(self, rows: list[Mapping[str, Any]]) -> bool:
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(self.table.insert(), rows)
                return True
            except OperationalError:  # locked database, lost connection: retry
                log.warning("prediction log write failed (attempt %d)", attempt + 1, exc_info=True)
        log.error("dropped %d prediction log rows after 3 attempts", len(rows))
        return False
