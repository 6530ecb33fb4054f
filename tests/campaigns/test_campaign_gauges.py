"""The campaign gauges, as the monitoring job exports them: the textfile beside the drift gauges
and a PUT to a real Pushgateway (Debian's prometheus-pushgateway) on loopback."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from steps.monitoring.campaign_gauges import export_campaign_gauges
from tests.campaigns.stored import stored_campaign
from tests.fixtures.alert_chain import binary
from tests.fixtures.http import wait_for_http
from tests.fixtures.ports import free_port

pytestmark = pytest.mark.integration


def test_gauges_per_campaign_reach_the_textfile_and_a_pushgateway(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'project.db'}"
    stored_campaign(url, "spring", churned_treated=20, churned_control=40)
    stored_campaign(url, "summer", churned_treated=30, churned_control=30)
    port = free_port()
    log = tmp_path / "pushgateway.log"
    with log.open("wb") as out:
        gateway = subprocess.Popen(
            [binary("prometheus-pushgateway"), f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/-/ready", 60, process=gateway, log=log)
        path = export_campaign_gauges(url, tmp_path / "reports", base)
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:
            pushed = answer.read().decode()
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
    assert path == tmp_path / "reports" / "drift" / "campaigns.prom"
    for text in (path.read_text(), pushed):
        samples = {
            (s.name, s.labels.get("campaign"), s.labels.get("arm")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name.startswith("churn_campaign_")
        }
        assert samples[("churn_campaign_uplift", "spring", None)] == pytest.approx(0.2)
        assert samples[("churn_campaign_customers_saved", "spring", None)] == pytest.approx(20)
        assert samples[("churn_campaign_net_value", "spring", None)] == pytest.approx(
            20 * 150 - 50 * 100
        )
        assert samples[("churn_campaign_uplift", "summer", None)] == pytest.approx(0.0)
        low = samples[("churn_campaign_uplift_ci_low", "spring", None)]
        assert 0.05 < low < 0.2 < samples[("churn_campaign_uplift_ci_high", "spring", None)]
        assert samples[("churn_campaign_outcomes", "spring", "control")] == 100
    assert 'job="churn-monitoring"' in pushed and 'part="campaigns"' in pushed


def test_the_monitoring_report_leaves_out_the_treated_customers(tmp_path: Path) -> None:
    """The realized report the monitoring job (and the automatic rollback) reads: of 200
    outcomes, the 100 of customers an open campaign treated are left out, the control's stay."""
    from churn.monitoring.config import parse_config
    from steps.monitoring.outcomes import realized_report

    url = f"sqlite:///{tmp_path / 'project.db'}"
    stored_campaign(url, "spring", churned_treated=20, churned_control=40)
    cfg = parse_config({"prediction_db": url, "realized_window_days": 30})
    assert realized_report(cfg, None, None).n_outcomes == 100
