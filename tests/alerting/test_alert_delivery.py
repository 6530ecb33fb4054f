"""Integration: a drift gauge pushed by the monitoring code reaches an on-call webhook, through
real Prometheus, Pushgateway and Alertmanager on loopback (tests/fixtures/alert_chain.py), each
locked with basic auth as shipped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from steps.monitoring.prometheus import push_metrics
from tests.fixtures.alert_chain import Receiver, alert_chain, drift_decision, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DELIVERY_BOUND_S = 90.0


@pytest.fixture()
def chain(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with alert_chain(tmp_path) as running:
        yield running


def test_a_pushed_drift_gauge_alerts_the_webhook_then_resolves(chain: dict[str, Any]) -> None:
    receiver: Receiver = chain["receiver"]
    drift = drift_decision(drifted=5)
    assert drift.drift_detected
    push_metrics(chain["pushgateway"], drift, auth=chain["auth"]["pushgateway"])

    took = wait_until(
        lambda: bool(receiver.alerts("ChurnDriftDetected", "firing")),
        "the ChurnDriftDetected alert at the webhook",
        DELIVERY_BOUND_S,
    )
    alert = receiver.alerts("ChurnDriftDetected", "firing")[0]
    assert alert["labels"]["severity"] == "warning"
    assert alert["labels"]["platform"] == "churn"  # the external label of prometheus.yml
    assert alert["annotations"]["runbook"] == "docs/prometheus.md#churndriftdetected"
    assert receiver.notifications[0]["receiver"] == "churn-webhook"
    assert receiver.notifications[0]["path"] == "/alerts"
    print(f"drift alert reached the webhook {took:.1f} s after the push (shared machine)")

    calm = drift_decision(drifted=0)
    assert calm.drift_detected is False
    push_metrics(chain["pushgateway"], calm, auth=chain["auth"]["pushgateway"])
    wait_until(
        lambda: bool(receiver.alerts("ChurnDriftDetected", "resolved")),
        "the resolved notification",
        DELIVERY_BOUND_S,
    )


def test_no_drift_raises_no_alert(chain: dict[str, Any]) -> None:
    """The same chain stays quiet for a calm run (so the test above could fail)."""
    push_metrics(chain["pushgateway"], drift_decision(drifted=0), auth=chain["auth"]["pushgateway"])
    query = f"{chain['prometheus']}/api/v1/query"

    def scraped() -> bool:
        body = requests.get(
            query,
            params={"query": "churn_drift_detected"},
            auth=chain["auth"]["prometheus"],
            timeout=5,
        ).json()
        return bool(body["data"]["result"])

    wait_until(scraped, "Prometheus scraping the pushed gauge", DELIVERY_BOUND_S)
    time.sleep(5)  # several evaluation and grouping rounds at 1 s
    assert receiver_alerts(chain) == []


def receiver_alerts(chain: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for n in chain["receiver"].notifications for a in n["alerts"]]
