"""The chunked `materialize` (churn.feature_store.materialize) against Feast's own
`materialize_incremental`: the same online values and times on the embedded SQLite store and on a
real Redis on loopback; a second run writes only what was ingested since; the window is read a
bounded number of rows at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from churn.feature_store.config import feature_store
from churn.feature_store.ingest import ingest_file
from churn.feature_store.materialize import Materialized
from churn.feature_store.offline import materialize
from churn.schema import ID_COLUMN
from churn.settings import Settings
from feature_repo.customer import VIEWS, feature_refs
from tests.feature_store.conftest import CUSTOMERS, write_extract
from tests.fixtures.redis import RedisServer

T1 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
T3 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END1 = dt.datetime(2026, 2, 15, tzinfo=dt.UTC)
END2 = dt.datetime(2026, 3, 15, tzinfo=dt.UTC)
CHUNK = 7
LATE = 10
"""The second extract holds the first `CUSTOMERS - LATE` customers only, with other bills."""


def _extracts(customers: pd.DataFrame, folder: Path) -> tuple[Path, Path, Path]:
    """T1: everyone; T2: most, with new bills; T3: a few, new bills again."""
    second = customers.iloc[: CUSTOMERS - LATE].copy()
    second["MonthlyCharges"] += 1.25
    third = customers.iloc[:5].copy()
    third["MonthlyCharges"] += 2.5
    third["Contract"] = "Two year"
    return (
        write_extract(folder / "t1.csv", customers),
        write_extract(folder / "t2.csv", second),
        write_extract(folder / "t3.csv", third),
    )


def _settings(root: Path, online: str | None) -> Settings:
    return Settings(feature_dir=root, feature_online_store=online, feature_max_age_hours=1e6)


def _online(settings: Settings, ids: list[str]) -> dict[str, list[Any]]:
    """What Feast's online read answers for `ids`: the 19 values and their event times."""
    response = feature_store(settings).get_online_features(
        features=feature_refs(), entity_rows=[{ID_COLUMN: i} for i in ids]
    )
    return response.to_dict(include_event_timestamps=True)


@pytest.fixture(params=["sqlite", "redis"])
def pair(
    request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path: Path
) -> tuple[Settings, Settings]:
    """Two empty stores of one kind: one for Feast's materialize, one for ours."""
    if request.param == "sqlite":
        return _settings(tmp_path / "feast", None), _settings(tmp_path / "ours", None)
    flushed = []
    for db in (5, 6):
        import redis

        client = redis.Redis.from_url(redis_server.url(db))
        client.flushdb()
        client.close()
        flushed.append(redis_server.url(db))
    return (
        _settings(tmp_path / "feast", flushed[0]),
        _settings(tmp_path / "ours", flushed[1]),
    )


def test_chunks_give_feasts_online_values_and_a_second_run_writes_only_new_rows(
    pair: tuple[Settings, Settings], customers: pd.DataFrame, tmp_path: Path
) -> None:
    feast_side, ours = pair
    t1, t2, t3 = _extracts(customers, tmp_path)
    for settings in pair:
        ingest_file(t1, T1, settings, chunk_rows=16)
        ingest_file(t2, T2, settings, chunk_rows=16)
    ids = [*customers[ID_COLUMN].tolist(), "NOPE"]

    feature_store(feast_side, apply=True).materialize_incremental(end_date=END1)
    chunks: list[int] = []
    seen: list[int] = []

    def report(done: Materialized) -> None:
        seen.append(done.rows)
        chunks.append(done.rows - (seen[-2] if len(seen) > 1 else 0))

    first = materialize(ours, END1, chunk_rows=CHUNK, report=report)
    expected = _online(feast_side, ids)
    assert _online(ours, ids) == expected
    # every row of the window, in chunks of at most CHUNK rows, one extract at a time
    rows = 2 * CUSTOMERS - LATE
    assert (first.rows, first.chunks, len(chunks)) == (rows, len(chunks), len(chunks))
    assert max(chunks) == CHUNK and sum(chunks) == rows
    assert len(chunks) == -(-CUSTOMERS // CHUNK) + -(-(CUSTOMERS - LATE) // CHUNK)
    assert expected["MonthlyCharges"][0] == customers["MonthlyCharges"].iloc[0] + 1.25
    assert expected["MonthlyCharges__ts"][-2] == int(T1.timestamp())  # not in the second
    assert expected["MonthlyCharges"][-1] is None

    for settings in pair:
        ingest_file(t3, T3, settings)
    feature_store(feast_side).materialize_incremental(end_date=END2)
    second = materialize(ours, END2, chunk_rows=CHUNK)
    assert (second.start, second.end, second.rows, second.chunks) == (END1, END2, 5, 1)
    expected = _online(feast_side, ids)
    assert _online(ours, ids) == expected
    assert expected["Contract"][:6] == ["Two year"] * 5 + [customers["Contract"].iloc[5]]
    for name in VIEWS:  # the watermark Feast keeps, so Feast's next run would start there too
        view = feature_store(ours).get_feature_view(name)
        assert view.most_recent_end_time == END2

    third = materialize(ours, END2 + dt.timedelta(days=1), chunk_rows=CHUNK)
    assert (third.rows, third.chunks) == (0, 0)
