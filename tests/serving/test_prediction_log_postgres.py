"""The real service, 2 workers, writing its prediction log to a real PostgreSQL server through
`CHURN_PREDICTION_DB=postgresql://user@host:port/db` as a user writes it: N predictions served
under concurrency give exactly N rows after a graceful stop, and the monitoring code reads them."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from conftest import StartService

from bentos.prediction_log import TABLE_NAME
from churn.monitoring.window import read_window
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


async def _fire(url: str, path: str, bodies: list[Any], limit: int) -> list[int]:
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: Any) -> int:
            async with session.post(f"{url}{path}", json=body) as resp:
                await resp.read()
                return resp.status

        return await asyncio.gather(*(one(b) for b in bodies))


def test_two_workers_log_exactly_n_rows_to_postgres(start: StartService, postgres_url: str) -> None:
    service = start("postgres-log", CHURN_SERVICE_WORKERS="2", CHURN_PREDICTION_DB=postgres_url)
    singles = [{"customer": {**EXAMPLE_RECORD, "tenure": i % 72}} for i in range(150)]
    statuses = asyncio.run(_fire(service.url, "/predict", singles, limit=8))
    batch = {"customers": [EXAMPLE_RECORD] * 50}
    statuses += asyncio.run(_fire(service.url, "/predict_batch", [batch] * 6, limit=3))
    assert statuses == [200] * 156
    served = 150 + 50 * 6

    assert service.stop() in (0, -15)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"select count(*) from {TABLE_NAME}")).scalar_one()
        distinct = conn.execute(sa.text(f"select count(distinct request_id) from {TABLE_NAME}"))
        assert distinct.scalar_one() == served
    engine.dispose()
    assert count == served

    window = read_window(postgres_url, 10_000, hours=1)
    assert len(window) == served
    assert set(FEATURE_NAMES) <= set(window.columns)
    assert sorted(window["tenure"].value_counts().index)[:3] == [0, 1, 2]
