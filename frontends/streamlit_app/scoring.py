"""Scoring a customer table through the service and summarising the risk (pure pandas)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from churn.schema import FEATURE_NAMES, ID_COLUMN
from frontends.common.client import ChurnClient
from frontends.common.records import records_from_frame

CHUNK = 1000
TENURE_BANDS = (0, 12, 24, 48, 72, 10_000)
TENURE_LABELS = ("0-12 m", "12-24 m", "24-48 m", "48-72 m", "72+ m")
SEGMENTS = {
    "Contract": "Contract",
    "Tenure band": "tenure_band",
    "Internet service": "InternetService",
}


def score_frame(
    client: ChurnClient,
    customers: pd.DataFrame,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """The customers with `churn_probability`, `churn`, `risk_band`, `revenue_at_risk` added."""
    records = records_from_frame(customers)
    predictions = client.predict_many(records, chunk_size=CHUNK, progress=progress)
    out = customers[[c for c in (ID_COLUMN, *FEATURE_NAMES) if c in customers.columns]].copy()
    out = out.reset_index(drop=True)
    out["churn_probability"] = [float(p["churn_probability"]) for p in predictions]
    out["churn"] = [bool(p["churn"]) for p in predictions]
    out["risk_band"] = [str(p["risk_band"]) for p in predictions]
    out["revenue_at_risk"] = out["MonthlyCharges"].astype(float) * out["churn_probability"]
    out["tenure_band"] = tenure_band(out["tenure"])
    return out


def tenure_band(tenure: pd.Series) -> pd.Series:
    bands = pd.cut(
        tenure.astype(int), bins=list(TENURE_BANDS), labels=list(TENURE_LABELS), right=False
    )
    return bands.astype(str)


def top_risk(scored: pd.DataFrame, n: int) -> pd.DataFrame:
    cols = [
        c
        for c in (
            ID_COLUMN,
            "churn_probability",
            "risk_band",
            "revenue_at_risk",
            "Contract",
            "tenure",
            "InternetService",
            "MonthlyCharges",
        )
        if c in scored.columns
    ]
    return scored.sort_values("churn_probability", ascending=False).head(n)[cols]


def churn_by(scored: pd.DataFrame, column: str) -> pd.DataFrame:
    """Expected churn rate (mean probability) and share flagged, per value of `column`."""
    grouped = scored.groupby(column, observed=True)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "expected_churn_rate": grouped["churn_probability"].mean(),
            "flagged_share": grouped["churn"].mean(),
            "revenue_at_risk": grouped["revenue_at_risk"].sum(),
        }
    ).reset_index()
    return out.rename(columns={column: "segment"})


def probability_histogram(scored: pd.DataFrame, bins: int = 20) -> pd.DataFrame:
    counts, edges = np.histogram(scored["churn_probability"], bins=bins, range=(0.0, 1.0))
    return pd.DataFrame({"probability": np.round(edges[:-1], 3), "customers": counts})


def revenue_at_risk(scored: pd.DataFrame) -> float:
    """Expected monthly revenue lost: sum of MonthlyCharges x churn probability."""
    return float(scored["revenue_at_risk"].sum())
