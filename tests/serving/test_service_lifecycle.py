"""Two workers under concurrency: overload answers 503 + Retry-After, and after a graceful stop
the prediction log holds exactly one row per served prediction."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from churn.db.tables import prediction_log
from churn.schema import EXAMPLE_RECORD
from tests.fixtures.launcher import StartService

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


async def _fire(
    url: str, path: str, bodies: list[Any], limit: int, headers: dict[str, str]
) -> list[tuple[int, Any, str]]:
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one(body: Any) -> tuple[int, Any, str]:
            async with session.post(f"{url}{path}", json=body) as resp:
                return resp.status, await resp.json(), resp.headers.get("Retry-After", "")

        return await asyncio.gather(*(one(b) for b in bodies))


def _rows(db: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(prediction_log)
        return int(conn.execute(count).scalar_one())


def test_overload_and_exact_prediction_log(start: StartService, session_dir: Path) -> None:
    name = "lifecycle"
    service = start(name, CHURN_SERVICE_WORKERS="2", CHURN_MAX_IN_FLIGHT="8")
    single = {"customer": EXAMPLE_RECORD}
    results = asyncio.run(
        _fire(service.url, "/predict", [single] * 200, limit=8, headers=service.headers)
    )
    assert [r[0] for r in results] == [200] * 200

    batch = {"customers": [EXAMPLE_RECORD] * 100}
    burst = asyncio.run(
        _fire(service.url, "/predict_batch", [batch] * 80, limit=80, headers=service.headers)
    )
    statuses = [r[0] for r in burst]
    assert set(statuses) <= {200, 503}, statuses
    assert 503 in statuses, "80 concurrent batches against 2x8 slots should shed load"
    shed = [r for r in burst if r[0] == 503]
    assert all(r[2] and r[1]["error"] for r in shed), "503 must carry Retry-After and an error"
    served = 200 + 100 * statuses.count(200)

    assert service.stop() in (0, -15)
    assert _rows(session_dir / f"{name}.db") == served
