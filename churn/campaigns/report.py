"""The campaign report: per arm n, outcomes back, churn rate; the uplift (control churn rate
minus treated churn rate) with Newcombe's hybrid score interval (churn.campaigns.stats), and what
it means in customers and money, each with the same interval carried through.

What keeps the figures honest:
- below `MIN_OUTCOMES_PER_ARM` outcomes in an arm the report says "not enough outcomes yet"
  and gives no number (a handful of outcomes gives uplifts of 1.0 with zero-width intervals);
- the interval is for the fixed sample at the horizon: before it the status is `interim` and
  says how much of the window has passed; `final` once the window has ended;
- per-arm outcome return rates (a warning when they differ) and a sample-ratio-mismatch test of
  the arm sizes against the planned share;
- with contacts imported, the effect of being reached (complier average = ITT / reach rate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from churn.campaigns.plan import CONTROL, TREATED
from churn.campaigns.segments import segment_effects
from churn.campaigns.stats import (
    CONFIDENCE,
    MIN_OUTCOMES_PER_ARM,
    chi_square_p,
    newcombe,
    two_proportion_p,
    wilson,
)
from churn.campaigns.window import Window, churn_over_time, window_of, window_outcomes

if TYPE_CHECKING:
    import sqlalchemy as sa

    from churn.db.campaigns import Campaign

__all__ = ["CampaignReport", "build_report", "churn_over_time", "report_of"]
WARN_P = 0.01
"""A return-rate or sample-ratio test below this p-value gives a warning."""
NOT_ENOUGH, INTERIM, FINAL = "not enough outcomes yet", "interim", "final"


@dataclass(frozen=True)
class ArmSummary:
    n: int
    outcomes: int
    churned: int
    churn_rate: float | None
    outcome_rate: float | None = None


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


@dataclass(frozen=True)
class CampaignReport:
    name: str
    treated: ArmSummary
    control: ArmSummary
    status: str
    message: str
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
    min_outcomes_per_arm: int = MIN_OUTCOMES_PER_ARM
    window: dict[str, Any] | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    complier: dict[str, Any] | None = None
    segments: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: _round(v) for k, v in asdict(self).items()}


def _arm(joined: pd.DataFrame, arm: str) -> ArmSummary:
    rows = joined[joined["arm"] == arm]
    known = rows["churned"].dropna().astype(bool)
    churned = int(known.sum())
    rate = churned / len(known) if len(known) else None
    back = len(known) / len(rows) if len(rows) else None
    return ArmSummary(len(rows), len(known), churned, rate, back)


def uplift_interval(
    treated_churned: int, treated_n: int, control_churned: int, control_n: int,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:  # fmt: skip
    """(uplift, low, high): control rate minus treated rate, Newcombe's hybrid score interval."""
    d, low, high = newcombe(control_churned, control_n, treated_churned, treated_n, confidence)
    return float(d), float(low), float(high)


def _checks(treated: ArmSummary, control: ArmSummary, planned_share: float | None) -> dict:
    """Return rates per arm and the sample-ratio test; `warnings` says what looks wrong."""
    warnings: list[str] = []
    if control.n == 0:
        warnings.append("the control arm is empty: no uplift can be measured")
    srm = None
    if planned_share is not None and treated.n + control.n:
        srm = chi_square_p([control.n, treated.n], [planned_share, 1 - planned_share])
        if srm is not None and srm < WARN_P:
            warnings.append(
                f"sample-ratio mismatch: {control.n} control of {treated.n + control.n} is not "
                f"the planned share {planned_share:g} (p={srm:.2g}): check the assignment"
            )
    returns = two_proportion_p(treated.outcomes, treated.n, control.outcomes, control.n)
    if returns is not None and returns < WARN_P:
        warnings.append(
            f"outcomes come back at different rates: treated {treated.outcome_rate:.1%}, "
            f"control {control.outcome_rate:.1%} (p={returns:.2g}); the arms' outcomes may not "
            "be comparable (missing outcomes are not at random)"
        )
    return {"sample_ratio_p": srm, "return_rate_p": returns, "warnings": warnings}


def _complier(joined: pd.DataFrame, itt: tuple[float, float, float] | None) -> dict | None:
    """Effect of being reached: ITT / the treated arm's reach rate (one-sided non-compliance:
    the control arm is never contacted). The interval divides the ITT's by the reach rate."""
    if "reached" not in joined.columns:
        return None
    treated = joined[joined["arm"] == TREATED]
    reach = float(treated["reached"].mean()) if len(treated) else 0.0
    out: dict[str, Any] = {
        "contacted": int(treated["contacted_at"].notna().sum()),
        "reached": int(treated["reached"].sum()),
        "churned_before_contact": int(treated["churned_before_contact"].sum()),
        "reach_rate": reach,
        "cace": None, "cace_ci_low": None, "cace_ci_high": None,
    }  # fmt: skip
    if itt is not None and reach > 0:
        keys = ("cace", "cace_ci_low", "cace_ci_high")
        out |= dict(zip(keys, (v / reach for v in itt), strict=True))
    return out


def build_report(
    name: str,
    joined: pd.DataFrame,
    offer_cost: float,
    saved_value: float,
    confidence: float = CONFIDENCE,
    window: Window | None = None,
    now: dt.datetime | None = None,
    planned_share: float | None = None,
) -> CampaignReport:
    """The report of `window_outcomes(...)`. Saved customers = uplift x treated n; net value =
    saved x V - C x treated n (every treated customer was contacted): both scale the uplift's
    interval, which assumes the missing outcomes are like the ones back (see `checks`)."""
    now = now or dt.datetime.now(dt.UTC)
    treated, control = _arm(joined, TREATED), _arm(joined, CONTROL)
    figures: dict[str, Any] = dict.fromkeys(
        f"{k}{s}" for k in ("uplift", "customers_saved", "net_value", "precision_top_n")
        for s in ("", "_ci_low", "_ci_high")
    )  # fmt: skip
    enough = min(treated.outcomes, control.outcomes) >= MIN_OUTCOMES_PER_ARM
    itt = None
    if control.outcomes >= MIN_OUTCOMES_PER_ARM:
        # every planned customer is in the model's top N: precision there is the share of the
        # untouched (control) customers who churned
        low, high = wilson(control.churned, control.outcomes, confidence)
        figures |= {
            "precision_top_n": control.churn_rate,
            "precision_top_n_ci_low": float(low),
            "precision_top_n_ci_high": float(high),
        }
    if enough:
        itt = uplift_interval(
            treated.churned, treated.outcomes, control.churned, control.outcomes, confidence
        )
        n = treated.n
        for key, values in {
            "uplift": itt,
            "customers_saved": tuple(s * n for s in itt),
            "net_value": tuple(s * n * saved_value - offer_cost * n for s in itt),
        }.items():
            figures |= dict(zip((key, f"{key}_ci_low", f"{key}_ci_high"), values, strict=True))
    status, message = _status(treated, control, enough, window, now, confidence)
    return CampaignReport(
        name=name, treated=treated, control=control, status=status, message=message,
        confidence=confidence, offer_cost=offer_cost, saved_value=saved_value,
        window=None if window is None else window.as_json(now),
        checks=_checks(treated, control, planned_share),
        complier=_complier(joined, itt),
        segments=segment_effects(joined, confidence),
        **figures,
    )  # fmt: skip


def _status(
    treated: ArmSummary,
    control: ArmSummary,
    enough: bool,
    window: Window | None,
    now: dt.datetime,
    confidence: float,
) -> tuple[str, str]:
    if not enough:
        return NOT_ENOUGH, (
            f"not enough outcomes yet: {treated.outcomes} treated and {control.outcomes} control "
            f"outcome(s); at least {MIN_OUTCOMES_PER_ARM} per arm before a figure is given"
        )
    pct = f"{confidence:.0%}"
    if window is not None and window.is_final(now):
        return FINAL, f"final: the outcome window ended {window.end:%Y-%m-%d %H:%M} UTC"
    passed = None if window is None else window.passed_share(now)
    when = (
        "the campaign has no horizon and is not closed"
        if passed is None or window is None or window.end is None
        else f"{passed:.0%} of the window has passed (it ends {window.end:%Y-%m-%d %H:%M} UTC)"
    )
    return INTERIM, (
        f"interim: {when}; the {pct} interval is for the fixed sample at the horizon, so a "
        "look before it is not a final answer (and daily looks will see it cross 0 by chance)"
    )


def report_of(
    engine: sa.Engine, campaign: Campaign, now: dt.datetime | None = None
) -> tuple[CampaignReport, pd.DataFrame]:
    """The report of a stored campaign from the outcomes store, and the joined rows behind it."""
    from churn.db.campaigns import read_assignments, read_contacts
    from churn.db.outcomes import read

    window = window_of(campaign.started_at, campaign.horizon_days, campaign.closed_at)
    contacts = read_contacts(engine, campaign)
    joined = window_outcomes(
        read_assignments(engine, campaign), read(engine, since=campaign.started_at), window,
        None if contacts.empty else contacts,
    )  # fmt: skip
    report = build_report(
        campaign.name, joined, campaign.offer_cost, campaign.saved_value, window=window,
        now=now, planned_share=campaign.control_share,
    )  # fmt: skip
    return report, joined
