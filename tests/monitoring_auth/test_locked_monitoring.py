"""Integration: the monitoring servers refuse anonymous requests, for real.

One locked chain (tests/fixtures/alert_chain.py: Debian's Prometheus, Alertmanager and
Pushgateway on loopback, each with the `--web.config.file` our generator wrote, Prometheus with
the shipped config) serves the whole module: 401 without or with wrong credentials, 200 with them;
a push without credentials is refused and leaves the drift figure as it was; the monitoring job's
settings (CHURN_PUSHGATEWAY_*) push with credentials; Prometheus scrapes every locked target.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from churn.settings import get_settings
from steps.monitoring.prometheus import drift_registry, push_configured, push_metrics
from tests.fixtures.alert_chain import alert_chain, drift_decision, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

# an API route of each server besides its health and metrics
API = {
    "prometheus": "/api/v1/query?query=up",
    "alertmanager": "/api/v2/alerts",
    "pushgateway": "/api/v1/metrics",
}


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with alert_chain(tmp_path_factory.mktemp("locked")) as running:
        yield running


def drift_detected(chain: dict[str, Any]) -> float:
    """churn_drift_detected as the Pushgateway holds it (read with credentials)."""
    text = requests.get(
        f"{chain['pushgateway']}/metrics", auth=chain["auth"]["pushgateway"], timeout=5
    ).text
    values = [line.split()[-1] for line in text.splitlines() if line.startswith("churn_drift_det")]
    assert len(values) == 1, text[-2000:]
    return float(values[0])


@pytest.mark.parametrize("server", sorted(API))
def test_each_server_refuses_anonymous_and_wrong_credentials(
    chain: dict[str, Any], server: str
) -> None:
    user, password = chain["auth"][server]
    for path in ("/-/ready", "/metrics", API[server]):
        url = chain[server] + path
        assert requests.get(url, timeout=5).status_code == 401, url
        assert requests.get(url, auth=(user, password + "x"), timeout=5).status_code == 401, url
        assert requests.get(url, auth=("admin", "admin"), timeout=5).status_code == 401, url
        assert requests.get(url, auth=(user, password), timeout=5).status_code == 200, url


def test_a_push_without_credentials_is_refused_and_the_drift_figure_stays(
    chain: dict[str, Any],
) -> None:
    auth = chain["auth"]["pushgateway"]
    push_metrics(chain["pushgateway"], drift_decision(drifted=0), auth=auth)
    assert drift_detected(chain) == 0

    fake = drift_decision(drifted=10)
    assert fake.drift_detected
    for wrong in (None, (auth[0], "guess")):
        with pytest.raises(urllib.error.HTTPError) as refused:
            push_metrics(chain["pushgateway"], fake, auth=wrong)
        assert refused.value.code == 401
    delete = requests.delete(f"{chain['pushgateway']}/metrics/job/churn-monitoring", timeout=5)
    assert delete.status_code == 401
    assert drift_detected(chain) == 0


def test_the_monitoring_job_pushes_with_the_configured_credentials(
    chain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """push_configured, what the monitoring steps call, reads CHURN_PUSHGATEWAY_* (one Settings)."""
    drifted = drift_registry(drift_decision(drifted=10))
    monkeypatch.setenv("CHURN_PUSHGATEWAY_URL", chain["pushgateway"])
    get_settings.cache_clear()
    try:
        assert push_configured("drift metrics", drifted) is False  # no credentials: refused
        assert drift_detected(chain) == 0
        user, password = chain["auth"]["pushgateway"]
        monkeypatch.setenv("CHURN_PUSHGATEWAY_USER", user)
        monkeypatch.setenv("CHURN_PUSHGATEWAY_PASSWORD", password)
        get_settings.cache_clear()
        assert push_configured("drift metrics", drifted) is True
        assert drift_detected(chain) == 1
        push_configured("drift metrics", drift_registry(drift_decision(drifted=0)))
    finally:
        get_settings.cache_clear()


def test_prometheus_scrapes_every_locked_target(chain: dict[str, Any]) -> None:
    """The shipped scrape configs send the generated credentials: each target is up."""

    def health() -> dict[str, str]:
        body = requests.get(
            f"{chain['prometheus']}/api/v1/targets", auth=chain["auth"]["prometheus"], timeout=5
        ).json()
        return {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}

    wanted = {"churn-monitoring": "up", "alertmanager": "up", "prometheus": "up"}
    wait_until(lambda: health() == wanted, f"targets {wanted}", 60)
    up = requests.get(
        f"{chain['prometheus']}/api/v1/query",
        params={"query": 'up{job="churn-monitoring"}'},
        auth=chain["auth"]["prometheus"],
        timeout=5,
    ).json()["data"]["result"]
    assert [r["value"][1] for r in up] == ["1"]
