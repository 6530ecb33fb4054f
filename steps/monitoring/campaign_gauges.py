"""Per-campaign gauges for Prometheus, exported by the monitoring job like the drift gauges: a
textfile beside metrics.prom and a Pushgateway PUT (job `churn-monitoring`, group
`part=campaigns`), never by the service. Names are in docs/CONTRACT.md."""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from churn.campaigns.report import CampaignReport, report_of
from churn.db.campaigns import list_all
from churn.db.engine import make_engine
from churn.monitoring.export import drift_dir
from steps.monitoring.prometheus import Auth, push_registry

logger = logging.getLogger(__name__)
CAMPAIGNS_FILE = "campaigns.prom"
GAUGES = (
    ("uplift", "churn_campaign_uplift", "Control churn rate minus treated churn rate."),
    ("uplift_ci_low", "churn_campaign_uplift_ci_low", "Lower end of the uplift's 95% interval."),
    ("uplift_ci_high", "churn_campaign_uplift_ci_high", "Upper end of the uplift's 95% interval."),
    ("net_value", "churn_campaign_net_value", "Customers saved x value minus offer costs."),
    ("customers_saved", "churn_campaign_customers_saved", "Uplift x treated customers."),
)


def campaign_registry(reports: list[CampaignReport]) -> CollectorRegistry:
    """One series per campaign (label `campaign`) for each figure that is known yet, and the
    outcomes received per arm."""
    registry = CollectorRegistry()
    gauges = {key: Gauge(name, doc, ["campaign"], registry=registry) for key, name, doc in GAUGES}
    outcomes = Gauge(
        "churn_campaign_outcomes", "Outcomes received per arm.", ["campaign", "arm"],
        registry=registry,
    )  # fmt: skip
    for report in reports:
        figures = report.as_json()
        for key, gauge in gauges.items():
            if figures[key] is not None:
                gauge.labels(report.name).set(figures[key])
        outcomes.labels(report.name, "treated").set(report.treated.outcomes)
        outcomes.labels(report.name, "control").set(report.control.outcomes)
    return registry


def open_campaign_reports(url: str) -> list[CampaignReport]:
    engine = make_engine(url)  # read only: no migration here
    try:
        return [report_of(engine, c)[0] for c in list_all(engine) if c.is_open]
    finally:
        engine.dispose()


def export_campaign_gauges(
    url: str, reports_dir: Path, pushgateway_url: str | None, auth: Auth = None
) -> Path:
    """reports/drift/campaigns.prom (replaced atomically), and the Pushgateway when set."""
    registry = campaign_registry(open_campaign_reports(url))
    path = drift_dir(reports_dir) / CAMPAIGNS_FILE
    write_to_textfile(str(path), registry)
    if pushgateway_url:
        try:
            push_registry(pushgateway_url, registry, {"part": "campaigns"}, auth)
        except OSError as exc:
            logger.warning("could not push campaign gauges to %s: %s", pushgateway_url, exc)
    return path
