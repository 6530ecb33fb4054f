"""Effects by segment: contract, tenure band and risk decile, each recorded with the assignment
at plan time. Each segment's uplift has a Newcombe interval at a Bonferroni-adjusted level
(1 - 0.05 / k for k segments with figures), so that all k intervals hold together with 95%
confidence: looking at many segments and picking the best one is how chance effects are found.
A segment below the minimum outcomes per arm says so instead of a number."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churn.campaigns.stats import CONFIDENCE, MIN_OUTCOMES_PER_ARM, newcombe

SEGMENT_COLUMNS = ("contract", "tenure_band", "risk_decile")
TENURE_BANDS = ((0, 12, "0-12 months"), (13, 24, "13-24 months"), (25, 48, "25-48 months"))
LAST_BAND = "49+ months"


def tenure_band(tenure: pd.Series) -> pd.Series:
    """Months as a customer in four bands (first year, second year, up to four, longer)."""
    values = tenure.astype(int).to_numpy()
    out = np.full(len(values), LAST_BAND, dtype=object)
    for low, high, label in reversed(TENURE_BANDS):
        out[(values >= low) & (values <= high)] = label
    return pd.Series(out, index=tenure.index, dtype=object)


def risk_deciles(probability: pd.Series) -> pd.Series:
    """1 (lowest risk among the planned) to 10 (highest), by rank so that ties split evenly."""
    n = len(probability)
    if n == 0:
        return pd.Series([], dtype=int)
    ranks = probability.rank(method="first").to_numpy() - 1
    return pd.Series((ranks * 10 // n).astype(int) + 1, index=probability.index)


def _arm_counts(rows: pd.DataFrame) -> tuple[int, int, int, int]:
    known = rows.dropna(subset=["churned"])
    t = known[known["arm"] == "treated"]["churned"].astype(bool)
    c = known[known["arm"] == "control"]["churned"].astype(bool)
    return int(t.sum()), len(t), int(c.sum()), len(c)


def segment_effects(joined: pd.DataFrame, confidence: float = CONFIDENCE) -> dict[str, Any] | None:
    """{"level", "note", "rows": [{segment, value, treated/control outcomes and churned,
    uplift, ci_low, ci_high, enough}]}; None when the plan recorded no segments."""
    columns = [c for c in SEGMENT_COLUMNS if c in joined.columns and joined[c].notna().any()]
    if not columns:
        return None
    rows: list[dict[str, Any]] = []
    for column in columns:
        for value, part in joined.groupby(column, sort=True):
            tc, tn, cc, cn = _arm_counts(part)
            rows.append(
                {"segment": column, "value": str(value), "treated_outcomes": tn,
                 "treated_churned": tc, "control_outcomes": cn, "control_churned": cc,
                 "enough": min(tn, cn) >= MIN_OUTCOMES_PER_ARM}
            )  # fmt: skip
    k = max(sum(r["enough"] for r in rows), 1)
    level = 1 - (1 - confidence) / k
    for r in rows:
        r |= {"uplift": None, "ci_low": None, "ci_high": None}
        if r["enough"]:
            d, low, high = newcombe(
                r["control_churned"], r["control_outcomes"],
                r["treated_churned"], r["treated_outcomes"], level,
            )  # fmt: skip
            r |= {"uplift": float(d), "ci_low": float(low), "ci_high": float(high)}
    note = (
        f"{k} segment(s) with enough outcomes; each interval is at the {level:.4g} level "
        f"(Bonferroni: {1 - confidence:.0%} / {k}) so that together they hold at {confidence:.0%}. "
        "Segments are for finding where to look next, not for claiming a winner; segments below "
        f"{MIN_OUTCOMES_PER_ARM} outcomes per arm show no figure."
    )
    return {"level": level, "note": note, "rows": rows}
