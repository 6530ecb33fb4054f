"""The background writer stores every row, batches them, survives any write failure (retried,
counted, shown as degraded), bounds its queue, and says at once when the database is unusable.

Every test runs on SQLite and on a real PostgreSQL server (tests/fixtures/postgres.py). Faults are
real database errors raised by a trigger, not mocks: an `IntegrityError` on SQLite and an
`InternalError` on PostgreSQL, neither of them the `OperationalError` the old writer caught.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
import sqlalchemy as sa

from bentos.prediction_log import (
    PredictionLog,
    PredictionLogConfigError,
    PredictionLogFull,
)
from churn.db.engine import make_engine
from churn.db.tables import prediction_log
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES, ID_COLUMN
from churn.settings import WriterKnobs
from tests.fixtures.db_faults import break_inserts as _break_inserts
from tests.fixtures.db_faults import count_rows as _count
from tests.fixtures.db_faults import repair_inserts as _repair_inserts
from tests.fixtures.ports import free_port

FAST_RETRY = WriterKnobs(retry_base_s=0.02, retry_max_s=0.2, grace_s=10)


def _row(i: int) -> dict[str, Any]:
    return {
        **EXAMPLE_RECORD,
        ID_COLUMN: None if i % 2 else f"id-{i}",
        "request_id": f"r{i}",
        "created_at": datetime.now(UTC),
        "model_version": "7",
        "churn_probability": i / 10_000,
        "churn": i % 3 == 0,
    }


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _errors_counted(error: str) -> float:
    value = prometheus_client.REGISTRY.get_sample_value(
        "churn_prediction_log_errors_total", {"error": error}
    )
    return value or 0.0


def test_concurrent_appends_are_all_written_after_close(migrated_db_url: str) -> None:
    written: list[int] = []
    log = PredictionLog(migrated_db_url, on_written=written.append)

    def writer(k: int) -> None:
        for i in range(250):
            log.append([_row(k * 1000 + i)])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert (
        _count(migrated_db_url, f"select count(distinct request_id) from {prediction_log.name}")
        == 2000
    )
    assert _count(migrated_db_url) == 2000 == log.written == sum(written)
    assert len(written) < 2000, "rows should be written in batches, not one by one"
    assert log.backlog == 0
    assert log.errors == 0 and log.dropped == 0


def test_table_has_the_contract_columns(migrated_db_url: str) -> None:
    log = PredictionLog(migrated_db_url)
    log.append([_row(1)])
    log.close()
    engine = sa.create_engine(migrated_db_url)
    columns = {c["name"] for c in sa.inspect(engine).get_columns(prediction_log.name)}
    engine.dispose()
    expected = {"id", "request_id", "created_at", "model_version", "churn_probability", "churn"}
    experiment = {"arm", "served"}  # revision 0005: which arm scored it, did a client see it
    assert columns == expected | set(FEATURE_NAMES) | {ID_COLUMN} | experiment


def test_two_writers_share_one_database(migrated_db_url: str) -> None:
    """Two service workers start at once, each migrating and owning a writer on one database."""
    logs: list[PredictionLog] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            logs.append(PredictionLog(migrated_db_url))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    starters = [threading.Thread(target=start) for _ in range(2)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    assert not errors, errors
    for i in range(300):
        logs[i % 2].append([_row(i)])
    for log in logs:
        log.close()
    assert _count(migrated_db_url) == 300


def test_two_first_connections_to_a_new_sqlite_file_both_succeed(tmp_path: Path) -> None:
    """Two workers opening a new SQLite file at once both switch it to WAL. Without the retry
    in the log writer's engine, one of them failed with "database is locked" in 45 of 300
    rounds here, so 40 rounds miss it with probability under 1%."""
    failures: list[str] = []

    def connect(url: str) -> None:
        engine = make_engine(url, "log_writer")
        try:
            with engine.connect() as conn:
                mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
                if mode != "wal":
                    failures.append(f"journal mode {mode}")
        except sa.exc.OperationalError as exc:
            failures.append(str(exc.orig))
        finally:
            engine.dispose()

    for i in range(40):
        url = f"sqlite:///{tmp_path / f'new-{i}.db'}"
        pair = [threading.Thread(target=connect, args=(url,)) for _ in range(2)]
        for t in pair:
            t.start()
        for t in pair:
            t.join()
    assert failures == []


def test_a_database_fault_is_retried_counted_and_reported_until_it_clears(
    migrated_db_url: str,
) -> None:
    """The old writer caught only OperationalError: here the fault is another type, and the
    N appended rows still become exactly N rows once the database accepts writes again."""
    error = "IntegrityError" if migrated_db_url.startswith("sqlite") else "InternalError"
    log = PredictionLog(migrated_db_url, settings=FAST_RETRY)
    log.append([_row(0)])
    _wait_for(lambda: log.written == 1, "the first row")
    assert log.ready and not log.degraded
    counted_before = _errors_counted(error)

    _break_inserts(migrated_db_url)
    for i in range(1, 101):
        log.append([_row(i)])
    _wait_for(lambda: log.errors >= 3, "three failed attempts")
    assert log.degraded and not log.ready
    status = log.status()
    assert status["degraded"] is True and status["backlog"] > 0
    assert "injected fault" in status["last_error"]
    assert log._thread.is_alive(), "the writer thread must survive any exception"

    _repair_inserts(migrated_db_url)
    _wait_for(lambda: log.backlog == 0, "the backlog to drain after the repair")
    assert log.ready and not log.degraded
    log.close()
    assert _count(migrated_db_url) == 101 == log.written
    assert (
        _count(migrated_db_url, f"select count(distinct request_id) from {prediction_log.name}")
        == 101
    )
    assert _errors_counted(error) - counted_before == log.errors >= 3


def test_a_python_exception_in_the_write_path_is_retried_too(tmp_path: Path) -> None:
    """Not even a database error: a RuntimeError raised while executing the insert."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = PredictionLog(url, settings=FAST_RETRY)
    failures = {"left": 3}

    @sa.event.listens_for(log.engine, "before_cursor_execute")
    def _fault(*_args: Any) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("injected runtime fault")

    before = _errors_counted("RuntimeError")
    for i in range(10):
        log.append([_row(i)])
    log.close()
    assert failures["left"] == 0
    assert log.errors == 3 == _errors_counted("RuntimeError") - before
    assert _count(url) == 10 == log.written


def test_a_retried_row_is_stored_once(migrated_db_url: str) -> None:
    """request_id is unique (migration 0002) and the insert skips rows already stored, so a retry
    after a commit that did land cannot double a row."""
    log = PredictionLog(migrated_db_url)
    row = _row(5)
    log.append([row])
    log.append([row, _row(6)])
    log.close()
    assert _count(migrated_db_url) == 2
    assert log.errors == 0


def test_a_full_queue_refuses_at_once_and_keeps_what_it_accepted(migrated_db_url: str) -> None:
    settings = WriterKnobs(max_backlog=50, retry_base_s=0.02, retry_max_s=0.2, grace_s=10)
    log = PredictionLog(migrated_db_url, settings=settings)
    _break_inserts(migrated_db_url)
    for i in range(50):
        log.append([_row(i)])
    assert log.full
    with pytest.raises(PredictionLogFull, match="full") as refused:
        log.append([_row(50)])
    assert refused.value.retry_after_s >= 1
    _wait_for(lambda: log.degraded, "the writer to report degraded")
    assert log.backlog == 50
    _repair_inserts(migrated_db_url)
    _wait_for(lambda: log.backlog == 0, "the backlog to drain")
    assert not log.full
    log.append([_row(51)])
    log.close()
    assert _count(migrated_db_url) == 51


def test_close_gives_up_after_the_grace_period_and_says_how_many_rows(migrated_db_url: str) -> None:
    log = PredictionLog(migrated_db_url, settings=FAST_RETRY)
    _break_inserts(migrated_db_url)
    for i in range(20):
        log.append([_row(i)])
    _wait_for(lambda: log.errors >= 1, "a failed attempt")
    started = time.monotonic()
    log.close(grace_s=1.0)
    assert time.monotonic() - started < 30, "close() must not outlive its grace period by much"
    assert not log._thread.is_alive()
    assert log.dropped == 20
    assert log.backlog == 0
    _repair_inserts(migrated_db_url)
    assert _count(migrated_db_url) == 0


def _refused_postgres_url() -> str:
    return f"postgresql://churn@127.0.0.1:{free_port()}/nothing"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql+pg8000://churn@127.0.0.1:5432/db", "driver is not installed"),
        ("notadialect://x", "not a usable database URL"),
        ("refused", "cannot connect"),
    ],
)
def test_an_unusable_database_fails_at_once_naming_the_setting(url: str, reason: str) -> None:
    url = _refused_postgres_url() if url == "refused" else url
    started = time.monotonic()
    with pytest.raises(PredictionLogConfigError, match=reason) as failed:
        PredictionLog(url)
    assert "CHURN_PREDICTION_DB=" in str(failed.value)
    assert time.monotonic() - started < 30


def test_the_error_message_hides_the_password() -> None:
    url = f"postgresql://churn:s3cret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(PredictionLogConfigError) as failed:
        PredictionLog(url)
    assert "s3cret" not in str(failed.value)
    assert "CHURN_PREDICTION_DB=postgresql://churn:***@127.0.0.1" in str(failed.value)


def test_the_driver_level_insert_stores_what_sqlalchemy_would(migrated_db_url: str) -> None:
    """`RowInsert` hands tuples to the driver instead of SQLAlchemy's parameter processing: the
    same rows written both ways read back equal, column by column (times, booleans, floats,
    NULL ids, defaults for arm/served), a write larger than one PostgreSQL page is whole, and a
    request_id already stored is skipped."""
    from sqlalchemy.dialects import postgresql, sqlite

    from bentos.prediction_log import open_database
    from bentos.row_insert import RowInsert

    engine = open_database(migrated_db_url)
    table = prediction_log
    fast = RowInsert(engine, table)
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    reference = dialect_insert(table).on_conflict_do_nothing(index_elements=["request_id"])
    assert fast.mode == ("multirow" if engine.dialect.name == "postgresql" else "executemany")

    def rows(prefix: str, n: int) -> list[dict[str, Any]]:
        out = []
        for i in range(n):
            row = {**_row(i), "request_id": f"{prefix}{i}", "churn_probability": i / 7 % 1}
            row["created_at"] = datetime(2026, 11, 29, 6, 30, i % 60, 123456 + i, tzinfo=UTC)
            if i % 3 == 0:
                row.update(arm="challenger", served=False)
            out.append(row)
        return out

    n = RowInsert.PAGE + 7
    with engine.begin() as conn:
        conn.execute(reference, [{**_ROW_DEFAULTS_FOR_SA, **r} for r in rows("sa-", n)])
        fast.execute(conn, rows("fast-", n))
        fast.execute(conn, rows("fast-", 3))  # already stored: skipped, no error

    names = [c.name for c in table.columns if c.name not in ("id", "request_id")]
    quoted = ", ".join(f'"{name}"' for name in names)
    with engine.connect() as conn:  # the driver's own values: no SQLAlchemy result processing
        raw = conn.exec_driver_sql(f"SELECT request_id, {quoted} FROM {prediction_log.name}").all()
    engine.dispose()
    stored = {r[0]: tuple(r[1:]) for r in raw}
    assert len(stored) == 2 * n
    for i in range(n):
        assert stored[f"fast-{i}"] == stored[f"sa-{i}"], f"row {i} differs"
    assert stored["fast-1"][names.index("arm")] == "champion"
    assert stored["fast-3"][names.index("served")] in (False, 0)


_ROW_DEFAULTS_FOR_SA = {"arm": "champion", "served": True}
