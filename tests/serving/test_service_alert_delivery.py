"""Integration: the live service, driven by concurrent batches into slow answers, fires
ChurnHighLatencyP95, and the alert reaches the webhook through real Prometheus and Alertmanager
on loopback. The rules' `for:` durations are dropped in the test copy; their expressions (p95
over 150 ms from bentoml_service_request_duration_seconds) are the repository's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from churn.schema import EXAMPLE_RECORD
from tests.fixtures.alert_chain import alert_chain, wait_until
from tests.fixtures.launcher import StartService

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


async def _burst(url: str, n: int, headers: dict[str, str]) -> list[int]:
    """n concurrent 500-record batches on one worker: each waits for the others, so the request
    durations are far above the 150 ms objective (a burst stays under the log's backlog bound)."""
    batch = {"customers": [EXAMPLE_RECORD] * 500}
    connector = aiohttp.TCPConnector(limit=n)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one() -> int:
            async with session.post(f"{url}/predict_batch", json=batch) as resp:
                await resp.read()
                return resp.status

        return await asyncio.gather(*(one() for _ in range(n)))


def test_a_slow_service_alerts_the_webhook(start: StartService, tmp_path: Path) -> None:
    # /metrics locked: Prometheus scrapes with the token the shipped config reads from a file
    service = start("alerting", CHURN_BATCHING="off", CHURN_METRICS_AUTH="on")
    target = service.url.removeprefix("http://")
    with alert_chain(
        tmp_path, service_target=target, rules_without_for=True, metrics_token=service.token
    ) as chain:
        receiver = chain["receiver"]
        assert not receiver.alerts("ChurnHighLatencyP95", "firing")
        statuses: list[int] = []

        def latency_alerted() -> bool:
            statuses.extend(asyncio.run(_burst(service.url, 16, service.headers)))
            return bool(receiver.alerts("ChurnHighLatencyP95", "firing"))

        took = wait_until(latency_alerted, "ChurnHighLatencyP95 at the webhook", 240)
        assert set(statuses) == {200}
        alert = receiver.alerts("ChurnHighLatencyP95", "firing")[0]
        assert alert["labels"]["severity"] == "warning"
        assert alert["annotations"]["runbook"] == "docs/prometheus.md#churnhighlatencyp95"
        print(f"latency alert reached the webhook {took:.1f} s into the load (shared machine)")
