"""The prediction log: every served prediction, appended to `CHURN_PREDICTION_DB` in batches.

Requests only put rows on a bounded in-memory queue; a background thread drains it and writes
many rows per transaction, so no request waits for the database. The writer never dies and never
drops a row quietly: any failure is retried with exponential backoff, counted in
`churn_prediction_log_errors_total` and shown as `degraded` (for `/readyz`) until a write
succeeds again. When the queue is full, `append` raises `PredictionLogFull` (the service answers
503 with `Retry-After`) instead of growing memory. `close()` drains the queue within the grace
period (`CHURN_PREDICTION_LOG_GRACE_S`); what it cannot write by then is logged and counted.

The table is made only by the Alembic migrations (`churn db migrate`); at start the schema is only
checked (`churn.db.migrate.ready`, which migrates nothing but a user's own SQLite file). A database
that cannot be used, or is behind this code, raises `PredictionLogConfigError` naming
`CHURN_PREDICTION_DB` (and the command to run) at once.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NoReturn

import prometheus_client
import sqlalchemy as sa

from bentos.row_insert import RowInsert
from churn.control.privacy import RawCustomerIdsRefused, require_customer_key
from churn.db.engine import make_engine, shown_url
from churn.db.migrate import (
    DatabaseLocationError,
    SchemaNotCurrentError,
    ensure_sqlite_folder,
    ready,
)
from churn.db.tables import prediction_log
from churn.serve_env import require_database_setting
from churn.settings import Settings, WriterKnobs, get_settings

log = logging.getLogger(__name__)

SETTING = "CHURN_PREDICTION_DB"
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h
MAX_ROWS_PER_WRITE = 2000
_STOP = object()


class PredictionLogConfigError(RuntimeError):
    """The database named by CHURN_PREDICTION_DB cannot be used at all: a fatal start-up error."""


class PredictionLogFull(RuntimeError):
    """The queue holds `max_backlog` rows: answer 503 and ask the client to come back later."""

    def __init__(self, backlog: int, retry_after_s: int) -> None:
        super().__init__(f"prediction log backlog is full ({backlog} rows); retry later")
        self.retry_after_s = retry_after_s


@lru_cache(maxsize=1)
def _error_counter() -> prometheus_client.Counter:
    """Created on first use, inside the worker, so BentoML's multiprocess registry is set up."""
    return prometheus_client.Counter(
        "churn_prediction_log_errors",
        "Failed prediction log writes (each attempt), by exception type",
        labelnames=["error"],
    )


@lru_cache(maxsize=1)
def _dropped_counter() -> prometheus_client.Counter:
    return prometheus_client.Counter(
        "churn_prediction_log_dropped",
        "Prediction log rows given up on at shutdown, after the grace period",
    )


def open_database(url: str) -> sa.Engine:
    """An engine on a reachable database at this code's schema, or `PredictionLogConfigError`."""
    where = f"{SETTING}={shown_url(url)}"
    try:
        engine = make_engine(url, "log_writer")
    except ImportError as exc:  # the URL names a driver that is not installed
        raise PredictionLogConfigError(
            f"{where}: its database driver is not installed ({exc}); "
            "PostgreSQL URLs need psycopg2 (postgresql://user@host:5432/db)"
        ) from exc
    except sa.exc.ArgumentError as exc:
        raise PredictionLogConfigError(f"{where} is not a usable database URL: {exc}") from exc
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        message = f"{where}: cannot connect to the database: {reason}"
        raise PredictionLogConfigError(message) from exc
    try:
        ready(engine)
    except SchemaNotCurrentError as exc:  # its message names the setting and `churn db migrate`
        engine.dispose()
        raise PredictionLogConfigError(str(exc)) from exc
    except Exception as exc:
        engine.dispose()
        step = "migrating" if engine.dialect.name == "sqlite" else "checking"  # what `ready` did
        raise PredictionLogConfigError(
            f"{where}: {step} the schema failed: {type(exc).__name__}: {exc}"
        ) from exc
    return engine


def exit_on_fatal(exc: PredictionLogConfigError) -> NoReturn:
    """Stop the whole server on a fatal configuration error, saying why on stderr. Raising from
    a BentoML worker's `__init__` is not enough: the arbiter restarts the worker forever while
    `/readyz` hangs. In a worker this stops the arbiter (its parent) too."""
    message = f"FATAL: {exc}"
    log.critical(message)
    print(message, file=sys.stderr, flush=True)
    try:
        import bentoml

        in_worker = bentoml.server_context.worker_index is not None
    except Exception:  # not under BentoML
        in_worker = False
    if in_worker:
        os.kill(os.getppid(), signal.SIGTERM)
    os._exit(EXIT_CONFIG)


def require_database_location(settings: Settings) -> None:
    """Stop the server at start when `CHURN_PREDICTION_DB` cannot be where it points, or would
    keep raw customer IDs in PostgreSQL (called by the guard and by `ChurnService`)."""
    try:
        require_database_setting(settings)
        ensure_sqlite_folder(settings.prediction_db)
        require_customer_key(settings)
    except (DatabaseLocationError, RawCustomerIdsRefused) as exc:
        exit_on_fatal(PredictionLogConfigError(str(exc)))


class PredictionLog:
    """Bounded queue + writer thread. `on_written(n)` and `on_backlog(n)` feed the metrics."""

    def __init__(
        self,
        url: str,
        on_written: Callable[[int], None] = lambda n: None,
        on_backlog: Callable[[int], None] = lambda n: None,
        settings: WriterKnobs | None = None,
    ) -> None:
        self.settings = settings or get_settings().writer
        self.engine = open_database(url)
        self.table = prediction_log
        self._insert = RowInsert(self.engine, self.table)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._on_written = on_written
        self._on_backlog = on_backlog
        self.written = 0
        self.errors = 0
        self.dropped = 0
        self.degraded = False
        self.last_error: str | None = None
        self._pending = 0
        self._closing = False
        self._deadline: float | None = None
        self._lock = threading.Lock()
        self._errors = _error_counter()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    # -- the request side -------------------------------------------------------------------

    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Queue rows for writing; `PredictionLogFull` when the backlog bound would be passed."""
        with self._lock:
            if self._pending + len(rows) > self.settings.max_backlog or self._closing:
                raise PredictionLogFull(self._pending, self.retry_after_s)
            self._pending += len(rows)
        self._queue.put(rows)

    @property
    def full(self) -> bool:
        """True when no more rows are accepted: check it before scoring to answer 503 early."""
        return self._closing or self._pending >= self.settings.max_backlog

    @property
    def retry_after_s(self) -> int:
        """Seconds for a `Retry-After` header: the current retry delay while degraded, else 1."""
        if not self.degraded:
            return 1
        return max(1, math.ceil(self.settings.retry_max_s))

    @property
    def backlog(self) -> int:
        """Rows accepted but not yet written."""
        return self._pending

    @property
    def ready(self) -> bool:
        """For `/readyz`: the writer is alive and its last write succeeded."""
        return self._thread.is_alive() and not self.degraded and not self._closing

    def status(self) -> dict[str, Any]:
        """A JSON-able summary for `/readyz` bodies and logs."""
        return {
            "ready": self.ready,
            "degraded": self.degraded,
            "writer_alive": self._thread.is_alive(),
            "backlog": self._pending,
            "max_backlog": self.settings.max_backlog,
            "errors": self.errors,
            "last_error": self.last_error,
        }

    def close(self, grace_s: float | None = None) -> None:
        """Write everything still queued within `grace_s`, then stop; what is left is counted."""
        grace = self.settings.grace_s if grace_s is None else grace_s
        with self._lock:
            self._closing = True
            self._deadline = time.monotonic() + grace
        self._queue.put(_STOP)
        self._thread.join(grace + 1.0)
        left = self._pending
        if self._thread.is_alive() or left:
            log.error(
                "prediction log: %d rows not written within the %.0f s grace period", left, grace
            )
            self._count_dropped(left)
        self.engine.dispose()

    # -- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                rows, stopping = self._next_batch()
                for start in range(0, len(rows), MAX_ROWS_PER_WRITE):
                    self._write(rows[start : start + MAX_ROWS_PER_WRITE])
            except Exception:  # a bug here must not end the thread: keep serving the queue
                log.exception("prediction log writer: unexpected error")
                self._record_error(RuntimeError("writer loop"))
                time.sleep(self.settings.retry_base_s)

    def _next_batch(self) -> tuple[list[Mapping[str, Any]], bool]:
        item = self._queue.get()
        rows: list[Mapping[str, Any]] = []
        while True:
            if item is _STOP:
                return rows + self._drain(), True
            rows.extend(item)
            if len(rows) >= MAX_ROWS_PER_WRITE:
                return rows, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return rows, False

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
        """Insert `rows`, retrying any failure with backoff until it succeeds (or, when closing,
        until the grace period ends)."""
        attempt = 0
        while True:
            try:
                with self.engine.begin() as conn:
                    self._insert.execute(conn, rows)
                break
            except Exception as exc:
                attempt += 1
                self._record_error(exc)
                backoff = self.settings.retry_base_s * 2 ** (attempt - 1)
                delay = min(self.settings.retry_max_s, backoff)
                delay *= 0.5 + random.random() / 2  # jitter: workers don't retry in lockstep
                deadline = self._deadline
                if deadline is not None and time.monotonic() + delay > deadline:
                    log.error("prediction log: giving up on %d rows at shutdown", len(rows))
                    self._count_dropped(len(rows))
                    self._settle(len(rows))
                    return
                time.sleep(delay)
        if self.degraded:
            log.warning("prediction log writes succeed again after %d failed attempts", attempt)
        self.degraded = False
        self.written += len(rows)
        self._notify(self._on_written, len(rows))
        self._settle(len(rows))

    def _settle(self, n: int) -> None:
        with self._lock:
            self._pending -= n
            pending = self._pending
        self._notify(self._on_backlog, pending)

    def _record_error(self, exc: BaseException) -> None:
        self.errors += 1
        self.degraded = True
        self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
        log.warning("prediction log write failed (%s)", self.last_error)
        try:
            self._errors.labels(error=type(exc).__name__).inc()
        except Exception:  # a metrics failure must not stop the writer
            log.exception("prediction log: cannot count an error")

    def _count_dropped(self, n: int) -> None:
        if n <= 0:
            return
        self.dropped += n
        try:
            _dropped_counter().inc(n)
        except Exception:
            log.exception("prediction log: cannot count dropped rows")

    @staticmethod
    def _notify(callback: Callable[[int], None], n: int) -> None:
        try:
            callback(n)
        except Exception:  # metrics callbacks are not allowed to break the writer
            log.exception("prediction log: metrics callback failed")
