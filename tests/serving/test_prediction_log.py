"""The background writer stores every row, batches them, and loses nothing on close."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bentos.prediction_log import TABLE_NAME, PredictionLog
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES, ID_COLUMN


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


def test_concurrent_appends_are_all_written_after_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    written: list[int] = []
    log = PredictionLog(url, on_written=written.append)

    def writer(k: int) -> None:
        for i in range(250):
            log.append([_row(k * 1000 + i)])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"select count(*) from {TABLE_NAME}")).scalar_one()
        ids = conn.execute(sa.text(f"select count(distinct request_id) from {TABLE_NAME}"))
        assert ids.scalar_one() == 2000
    assert count == 2000 == log.written == sum(written)
    assert len(written) < 2000, "rows should be written in batches, not one by one"
    assert log.backlog == 0


def test_table_has_the_contract_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = PredictionLog(url)
    log.append([_row(1)])
    log.close()
    columns = {c["name"] for c in sa.inspect(sa.create_engine(url)).get_columns(TABLE_NAME)}
    expected = {"id", "request_id", "created_at", "model_version", "churn_probability", "churn"}
    assert columns == expected | set(FEATURE_NAMES) | {ID_COLUMN}


def test_two_writers_share_one_database(tmp_path: Path) -> None:
    """Two service workers each own a writer on the same SQLite file."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    logs = [PredictionLog(url), PredictionLog(url)]
    for i in range(300):
        logs[i % 2].append([_row(i)])
    for log in logs:
        log.close()
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text(f"select count(*) from {TABLE_NAME}")).scalar_one() == 300
