"""The real service, 2 workers, writing its prediction log to a real PostgreSQL server through
`CHURN_PREDICTION_DB=postgresql://user@host:port/db` as a user writes it. Midway, inserts start
failing with a database error that is not an OperationalError (a trigger): the writers retry,
`/metrics` counts the failures, and once the trigger is gone the N predictions served give
exactly N rows after a graceful stop. The monitoring code then reads them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from churn.db.tables import prediction_log
from churn.monitoring.window import read_window
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES
from tests.fixtures.db_faults import break_inserts, count_rows, repair_inserts
from tests.fixtures.launcher import StartService

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


async def _fire(
    url: str, path: str, bodies: list[Any], limit: int, headers: dict[str, str]
) -> list[int]:
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one(body: Any) -> int:
            async with session.post(f"{url}{path}", json=body) as resp:
                await resp.read()
                return resp.status

        return await asyncio.gather(*(one(b) for b in bodies))


def _log_errors(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "churn_prediction_log_errors_total" and s.labels["error"] == "InternalError"
    )


def test_two_workers_log_exactly_n_rows_to_postgres_through_a_fault(
    start: StartService, postgres_url: str
) -> None:
    service = start(
        "postgres-log",
        CHURN_SERVICE_WORKERS="2",
        CHURN_PREDICTION_DB=postgres_url,
        CHURN_CUSTOMER_ID_KEY="postgres-log-test-key",  # required on PostgreSQL (docs/security.md)
    )
    singles = [{"customer": {**EXAMPLE_RECORD, "tenure": i % 72}} for i in range(150)]
    statuses = asyncio.run(
        _fire(service.url, "/predict", singles, limit=8, headers=service.headers)
    )
    batch = {"customers": [EXAMPLE_RECORD] * 50}
    statuses += asyncio.run(
        _fire(service.url, "/predict_batch", [batch] * 6, limit=3, headers=service.headers)
    )

    break_inserts(postgres_url)
    statuses += asyncio.run(
        _fire(service.url, "/predict", singles[:100], limit=8, headers=service.headers)
    )
    deadline = time.monotonic() + 60
    while _log_errors(service.url) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _log_errors(service.url) >= 2, "failed writes must show in churn_prediction_log_errors"
    repair_inserts(postgres_url)

    assert statuses == [200] * 256
    served = 150 + 50 * 6 + 100
    assert service.stop() in (0, -15)
    assert count_rows(postgres_url) == served
    distinct = f"select count(distinct request_id) from {prediction_log.name}"
    assert count_rows(postgres_url, distinct) == served

    window = read_window(postgres_url, 10_000, hours=1)
    assert len(window) == served
    assert set(FEATURE_NAMES) <= set(window.columns)
    assert sorted(window["tenure"].value_counts().index)[:3] == [0, 1, 2]
