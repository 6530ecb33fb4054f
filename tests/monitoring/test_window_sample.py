"""The drift check at size: the window query walks the (served, id) index on SQLite and on a real
PostgreSQL server (the plans are read), a large window is compared through a seeded uniform
sample, and a shift the whole window shows is still detected through the sample.

Rows are written by the service's own prediction-log writer (bentos.prediction_log).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from churn.generator import generate
from churn.monitoring.config import MonitoringConfig
from churn.monitoring.window import (
    LOG_COLUMNS,
    TABLE,
    read_window,
    read_window_sample,
    window_query,
)
from tests.monitoring.test_window_postgres import log_rows

INDEX = "ix_prediction_log_served_id"
NOW = datetime.now(UTC)


def plan(engine: sa.Engine, query: sa.Select) -> str:
    """The database's own plan of `query` (bound values inlined, as the planner sees them)."""
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    sqlite = engine.dialect.name == "sqlite"
    # statistics, and on PostgreSQL the visibility map an index-only scan relies on
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if sqlite else "VACUUM ANALYZE")
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = conn.exec_driver_sql(explain + sql).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


def test_the_window_query_walks_the_served_id_index(migrated_db_url: str) -> None:
    log_rows(migrated_db_url, generate(3000, seed=1), NOW, "1")
    engine = sa.create_engine(migrated_db_url)
    try:
        table = sa.table(TABLE, *(sa.column(c) for c in (*LOG_COLUMNS, "served")))
        rows = window_query(table, 200, None, served=True)  # the window itself
        ids = rows.with_only_columns(table.c.id)  # the ids a sampled window is drawn from
        for query in (rows, ids):
            shown = plan(engine, query)
            # walked backwards in id order and stopped after N: no scan and sort of the whole log
            assert "TEMP B-TREE" not in shown and "Sort" not in shown, shown
            assert "SCAN prediction_log" not in shown and "Seq Scan" not in shown, shown
        shown = plan(engine, ids)
        if engine.dialect.name == "sqlite":
            # the ids come from the (served, id) index alone
            assert INDEX in shown and "COVERING" in shown, shown
        else:
            # PostgreSQL's planner picks by cost between the (served, id) index and the primary
            # key filtered on `served` (every row here is served, so both walk 200 entries): either
            # is a backward index walk that stops at the limit
            assert "Index" in shown and "Backward" in shown and "Limit" in shown, shown
    finally:
        engine.dispose()


def test_a_large_window_is_a_seeded_uniform_sample_of_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log_rows(url, generate(2500, seed=1), NOW, "1")
    whole = read_window(url, 2000)
    sample = read_window_sample(url, 2000, sample_rows=500, seed=3)
    assert (sample.window_rows, len(sample.frame), sample.sampled) == (2000, 500, True)
    assert sample.frame["id"].is_monotonic_increasing  # oldest first, like the whole window
    assert set(sample.frame["id"]) <= set(whole["id"])  # only rows of the window
    # spread over the whole window, not its newest or oldest end
    assert sample.frame["id"].min() < whole["id"].quantile(0.1)
    assert sample.frame["id"].max() > whole["id"].quantile(0.9)
    assert list(sample.frame.dtypes) == list(whole.dtypes)
    again = read_window_sample(url, 2000, sample_rows=500, seed=3)
    assert list(again.frame["id"]) == list(sample.frame["id"])  # seeded: the same rows
    other = read_window_sample(url, 2000, sample_rows=500, seed=4)
    assert list(other.frame["id"]) != list(sample.frame["id"])
    small = read_window_sample(url, 400, sample_rows=500, seed=3)  # nothing to sample
    assert (small.window_rows, small.sampled) == (400, False)
    assert small.frame.equals(read_window(url, 400))


@pytest.mark.slow
def test_a_shift_the_whole_window_shows_is_detected_through_the_sample(tmp_path: Path) -> None:
    from steps.monitoring.evaluate import evaluate

    url = f"sqlite:///{tmp_path / 'log.db'}"
    reference = generate(3000, seed=1)
    log_rows(url, generate(6000, seed=2, drift="price_rise"), NOW, "1")
    cfg = MonitoringConfig(reports_dir=tmp_path, min_rows=100, seed=5)
    whole = read_window_sample(url, 6000)
    full, _ = evaluate(cfg, reference, whole.frame, "1", whole.window_rows)
    sampled_window = read_window_sample(url, 6000, sample_rows=600, seed=cfg.seed)
    sampled, page = evaluate(cfg, reference, sampled_window.frame, "1", 6000)
    assert full.drift_detected is True and sampled.drift_detected is True
    assert sampled.drifted_features[0] == full.drifted_features[0] == "MonthlyCharges"
    line = json.loads(json.dumps(sampled.summary()))  # what `churn monitor` prints
    assert (line["n_rows"], line["window_rows"], line["sampled"]) == (600, 6000, True)
    assert full.summary()["sampled"] is False and full.summary()["window_rows"] == 6000
    assert "6,000 logged rows" in page and "sample of 600 rows" in page
    assert Path(sampled.report_path or "").read_text() == page
    # and sampling raises no alarm of its own: an undrifted window stays undrifted
    calm_url = f"sqlite:///{tmp_path / 'calm.db'}"
    log_rows(calm_url, generate(6000, seed=3), NOW, "1")
    calm = read_window_sample(calm_url, 6000, sample_rows=600, seed=cfg.seed)
    quiet, _ = evaluate(cfg, reference, calm.frame, "1", calm.window_rows)
    assert quiet.drift_detected is False, quiet.reasons
