"""The campaign report: per arm n, outcomes and churn rate; the uplift (control churn rate minus
treated churn rate) with a bootstrap interval, and what it means in customers and money.

The bootstrap resamples each arm's outcomes independently. For a 0/1 outcome the churn count of
a resample of n rows drawn with replacement is Binomial(n, observed rate), so the resamples are
drawn as binomials: exact, vectorised, and fast enough to repeat in tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn.campaigns.plan import CONTROL, TREATED
from churn.schema import ID_COLUMN

if TYPE_CHECKING:
    import sqlalchemy as sa

    from churn.db.campaigns import Campaign

DEFAULT_SAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class ArmSummary:
    n: int
    outcomes: int
    churned: int
    churn_rate: float | None


@dataclass(frozen=True)
class CampaignReport:
    name: str
    treated: ArmSummary
    control: ArmSummary
    uplift: float | None
    uplift_ci_low: float | None
    uplift_ci_high: float | None
    customers_saved: float | None
    customers_saved_ci_low: float | None
    customers_saved_ci_high: float | None
    net_value: float | None
    net_value_ci_low: float | None
    net_value_ci_high: float | None
    precision_top_n: float | None
    precision_top_n_ci_low: float | None
    precision_top_n_ci_high: float | None
    confidence: float
    offer_cost: float
    saved_value: float

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}


def latest_outcomes(
    assignments: pd.DataFrame, outcomes: pd.DataFrame, started_at: dt.datetime
) -> pd.DataFrame:
    """Each planned customer with its latest outcome observed at or after the start (`churned`
    is NaN while none has come back). Outcomes are keyed as the assignments are."""
    start = pd.Timestamp(started_at)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    after = outcomes[outcomes["observed_at"] >= start]
    latest = after.sort_values("observed_at").drop_duplicates(ID_COLUMN, keep="last")
    return assignments.merge(
        latest[[ID_COLUMN, "churned", "observed_at"]], on=ID_COLUMN, how="left"
    )


def _arm(joined: pd.DataFrame, arm: str) -> tuple[ArmSummary, np.ndarray]:
    rows = joined[joined["arm"] == arm]
    known = rows["churned"].dropna().astype(bool).to_numpy()
    churned = int(known.sum())
    rate = churned / len(known) if len(known) else None
    return ArmSummary(len(rows), len(known), churned, rate), known


def rate_draws(known: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap resamples of one arm's churn rate (binomial draws; see the module docstring)."""
    n = len(known)
    return rng.binomial(n, known.mean(), size=samples) / n


def _interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def uplift_interval(
    treated: np.ndarray,
    control: np.ndarray,
    samples: int = DEFAULT_SAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(uplift, low, high) of control rate minus treated rate; both arms need outcomes."""
    rng = np.random.default_rng(seed)
    draws = rate_draws(control, samples, rng) - rate_draws(treated, samples, rng)
    low, high = _interval(draws, confidence)
    return float(control.mean() - treated.mean()), low, high


def build_report(
    name: str,
    joined: pd.DataFrame,
    offer_cost: float,
    saved_value: float,
    samples: int = DEFAULT_SAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> CampaignReport:
    """The report of `latest_outcomes(...)`; figures that need outcomes in both arms are None
    until they come back. Saved customers = uplift x treated n; net value = saved x V - C x
    treated n (every treated customer was contacted)."""
    treated, t_known = _arm(joined, TREATED)
    control, c_known = _arm(joined, CONTROL)
    figures: dict[str, float | None] = dict.fromkeys(
        (
            "uplift", "uplift_ci_low", "uplift_ci_high", "customers_saved",
            "customers_saved_ci_low", "customers_saved_ci_high", "net_value",
            "net_value_ci_low", "net_value_ci_high", "precision_top_n",
            "precision_top_n_ci_low", "precision_top_n_ci_high",
        )
    )  # fmt: skip
    if len(c_known):
        # every planned customer is in the model's top N: precision there is the share of the
        # untouched (control) customers who churned
        rng = np.random.default_rng(seed + 1)
        low, high = _interval(rate_draws(c_known, samples, rng), confidence)
        figures |= {
            "precision_top_n": float(c_known.mean()),
            "precision_top_n_ci_low": low,
            "precision_top_n_ci_high": high,
        }
    if len(t_known) and len(c_known):
        uplift, low, high = uplift_interval(t_known, c_known, samples, confidence, seed)
        n = treated.n
        for key, (a, b, c) in {
            "uplift": (uplift, low, high),
            "customers_saved": (uplift * n, low * n, high * n),
            "net_value": tuple(s * n * saved_value - offer_cost * n for s in (uplift, low, high)),
        }.items():
            figures |= {key: a, f"{key}_ci_low": b, f"{key}_ci_high": c}
    return CampaignReport(
        name=name,
        treated=treated,
        control=control,
        confidence=confidence,
        offer_cost=offer_cost,
        saved_value=saved_value,
        **figures,
    )


def churn_over_time(joined: pd.DataFrame) -> pd.DataFrame:
    """Per arm and day of observation: the cumulative churn rate among outcomes received so far
    (the dashboard's chart). Columns: day, arm, outcomes, churned, churn_rate."""
    known = joined.dropna(subset=["churned"])
    if known.empty:
        return pd.DataFrame(columns=["day", "arm", "outcomes", "churned", "churn_rate"])
    frame = known.assign(
        day=known["observed_at"].dt.floor("D"), churned=known["churned"].astype(int)
    )
    daily = frame.groupby(["arm", "day"], sort=True)["churned"].agg(["count", "sum"])
    daily = daily.groupby(level="arm").cumsum().reset_index()
    daily.columns = ["arm", "day", "outcomes", "churned"]
    daily["churn_rate"] = daily["churned"] / daily["outcomes"]
    return daily[["day", "arm", "outcomes", "churned", "churn_rate"]]


def report_of(engine: sa.Engine, campaign: Campaign) -> tuple[CampaignReport, pd.DataFrame]:
    """The report of a stored campaign from the outcomes store, and the joined rows behind it."""
    from churn.db.campaigns import read_assignments
    from churn.db.outcomes import read

    joined = latest_outcomes(
        read_assignments(engine, campaign), read(engine, since=campaign.started_at),
        campaign.started_at,
    )  # fmt: skip
    report = build_report(campaign.name, joined, campaign.offer_cost, campaign.saved_value)
    return report, joined
