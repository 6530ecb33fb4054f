"""The outcome window of a campaign and each planned customer's outcome in it.

A campaign fixes its window at plan time: from the start to start + horizon (`--horizon-days`).
An outcome observed outside it is not counted, so the figures stop moving at the horizon. An
older campaign without a horizon ends at its close. Within the window a customer's outcome is
the definitive one: churned if any outcome in the window says churned (churn is absorbing; a
later "stayed" does not undo it), otherwise stayed if one came back.

With contacts imported (`churn campaign contacts import`), a treated customer whose churn was
observed before the contact was not reached before leaving: they count in the effect of being
assigned (ITT) but not as reached (complier average).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from churn.schema import ID_COLUMN


def utc(when: dt.datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime | None  # None: open-ended (a campaign without horizon, not closed)
    horizon_days: int | None

    def passed_share(self, now: dt.datetime) -> float | None:
        """How much of the window has passed (0 to 1); None when it has no end."""
        if self.end is None:
            return None
        span = (utc(self.end) - utc(self.start)).total_seconds()
        if span <= 0:
            return 1.0
        return min(max((utc(now) - utc(self.start)).total_seconds() / span, 0.0), 1.0)

    def is_final(self, now: dt.datetime) -> bool:
        return self.end is not None and utc(now) >= utc(self.end)

    def as_json(self, now: dt.datetime) -> dict[str, object]:
        share = self.passed_share(now)
        return {
            "start": utc(self.start).isoformat(),
            "end": None if self.end is None else utc(self.end).isoformat(),
            "horizon_days": self.horizon_days,
            "passed_share": None if share is None else round(share, 4),
            "final": self.is_final(now),
        }


def window_of(
    started_at: dt.datetime, horizon_days: int | None, closed_at: dt.datetime | None
) -> Window:
    """The campaign's window: start + horizon; without a horizon, the close (if any)."""
    if horizon_days is not None:
        return Window(started_at, started_at + dt.timedelta(days=horizon_days), horizon_days)
    return Window(started_at, closed_at, None)


def window_outcomes(
    assignments: pd.DataFrame,
    outcomes: pd.DataFrame,
    window: Window,
    contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each planned customer with its definitive outcome in the window: `churned` (NaN while
    none came back), `observed_at` (the first churn, else the first stay), and, with contacts,
    `contacted_at` and `reached` (contacted, and not seen churned before the contact)."""
    start = utc(window.start)
    inside = outcomes[outcomes["observed_at"] >= start]
    if window.end is not None:
        inside = inside[inside["observed_at"] <= utc(window.end)]
    inside = inside.assign(churned=inside["churned"].astype(bool))
    # the first churn if any, else the first stay: churned rows sort first, then by time
    first = inside.sort_values(["churned", "observed_at"], ascending=[False, True], kind="stable")
    first = first.drop_duplicates(ID_COLUMN, keep="first")
    joined = assignments.merge(
        first[[ID_COLUMN, "churned", "observed_at"]], on=ID_COLUMN, how="left"
    )
    if contacts is not None:
        joined = joined.merge(contacts[[ID_COLUMN, "contacted_at"]], on=ID_COLUMN, how="left")
        contacted = joined["contacted_at"].notna()
        churned_before = (
            contacted
            & (joined["churned"] == True)  # noqa: E712 (NaN is neither)
            & (joined["observed_at"] < joined["contacted_at"])
        )
        joined["reached"] = contacted & ~churned_before
        joined["churned_before_contact"] = churned_before
    return joined


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
