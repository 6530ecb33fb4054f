"""A campaign written straight to the store, with its outcomes and segments, 10 days into its
30-day window: for the gauge and page tests, which need no model."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from churn.db.audit import AuditEvent
from churn.db.campaigns import Campaign, create, engine_for
from churn.db.outcomes import store
from churn.outcomes import Outcome

STARTED = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)


def stored_campaign(url: str, name: str, churned_treated: int, churned_control: int) -> None:
    """100 treated and 100 control customers, with the given churners among each, observed
    over the three days after the start (so the page's chart has a line per arm)."""
    ids = [f"{name}-{i}" for i in range(200)]
    contacts = pd.DataFrame(
        {
            "rank": range(1, 201),
            "customerID": ids,
            "arm": ["treated"] * 100 + ["control"] * 100,
            "churn_probability": 0.6,
            "expected_value": 40.0,
            "predicted_uplift": float("nan"),
            "risk_decile": [10 - (i % 100) // 10 for i in range(200)],
            "contract": ["Month-to-month", "One year"] * 100,
            "tenure_band": "0-12 months",
        }
    )
    campaign = Campaign(
        name, STARTED, "ana", "telco_churn", "3", "value", 200, 0.5, 50.0, 150.0, "salt",
        100, 100, "customers.csv", horizon_days=30, min_detectable_uplift=0.19,
    )  # fmt: skip
    event = AuditEvent("campaign_plan", "cli", "ana", "telco_churn", None, "3", f"plan {name}")
    engine = engine_for(url)
    try:
        create(engine, campaign, contacts, event)
        churned = set(ids[:churned_treated]) | set(ids[100 : 100 + churned_control])
        outcomes = [
            Outcome(
                customerID=c,
                churned=c in churned,
                observed_at=STARTED + dt.timedelta(days=1 + i % 3),
            )
            for i, c in enumerate(ids)
        ]
        store(engine, outcomes, source="cli")
    finally:
        engine.dispose()
