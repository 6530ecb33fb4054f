"""Planning a campaign: validated parameters, the ranking key, the top N kept while streaming, and
the control group drawn by a salted hash of the customer ID."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.experiment import bucket
from churn.schema import ID_COLUMN

RANKS = ("value", "risk", "uplift")
TREATED, CONTROL = "treated", "control"
MAX_CONTROL_SHARE = 0.5
"""At most half held out: a campaign exists to contact people; a larger control only costs."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CONTACT_COLUMNS = (
    "rank",
    ID_COLUMN,
    "arm",
    "churn_probability",
    "expected_value",
    "predicted_uplift",
)


class CampaignError(ValueError):
    """A campaign that cannot be planned, reported or learned; the message names the argument."""


@dataclass(frozen=True)
class PlanParams:
    name: str
    budget: int
    control_share: float
    offer_cost: float
    saved_value: float
    rank: str
    salt: str


def validate_params(
    name: str,
    budget: int,
    control_share: float,
    offer_cost: float,
    saved_value: float,
    rank: str,
    salt: str | None = None,
) -> PlanParams:
    """The plan's parameters, or `CampaignError` naming the first bad one."""
    if not NAME_PATTERN.match(name or ""):
        raise CampaignError(
            f"campaign name {name!r} must be 1-64 letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit)"
        )
    if budget < 1:
        raise CampaignError(f"--budget must be at least 1, got {budget}")
    if not math.isfinite(control_share) or not 0.0 < control_share <= MAX_CONTROL_SHARE:
        raise CampaignError(
            f"--control-share must be in (0, {MAX_CONTROL_SHARE}], got {control_share}"
        )
    for flag, value in (("--offer-cost", offer_cost), ("--saved-value", saved_value)):
        if not math.isfinite(value) or value < 0:
            raise CampaignError(f"{flag} must be a finite number >= 0, got {value}")
    if rank not in RANKS:
        raise CampaignError(f"--rank must be one of {RANKS}, got {rank!r}")
    return PlanParams(
        name, budget, float(control_share), float(offer_cost), float(saved_value), rank,
        salt or secrets.token_hex(16),
    )  # fmt: skip


def ranking_key(scored: pd.DataFrame, params: PlanParams) -> np.ndarray:
    """Higher first. `value`: the offer's expected value p*V - C; `risk`: p; `uplift`: the
    predicted drop in churn probability times V minus C (what the offer is expected to earn)."""
    if params.rank == "risk":
        return scored["churn_probability"].to_numpy(dtype=float)
    return scored["expected_value"].to_numpy(dtype=float)


def expected_value(scored: pd.DataFrame, params: PlanParams) -> pd.Series:
    """Risk and value ranks: p*V - C; uplift rank: u*V - C with u the predicted uplift."""
    column = "predicted_uplift" if params.rank == "uplift" else "churn_probability"
    return scored[column].astype(float) * params.saved_value - params.offer_cost


class TopN:
    """The best `n` rows seen so far, by `key` (ties: the earlier row): memory grows with the
    budget, not with the file."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0
        self._top: pd.DataFrame | None = None

    def add(self, chunk: pd.DataFrame) -> None:
        chunk = chunk.assign(_order=np.arange(self.seen, self.seen + len(chunk)))
        self.seen += len(chunk)
        both = chunk if self._top is None else pd.concat([self._top, chunk], ignore_index=True)
        both = both.sort_values(["_key", "_order"], ascending=[False, True], kind="stable")
        self._top = both.head(self.n).reset_index(drop=True)

    def result(self) -> pd.DataFrame:
        if self._top is None:
            return pd.DataFrame()
        return self._top.drop(columns=["_key", "_order"])


def assign_arms(customer_ids: pd.Series, salt: str, control_share: float) -> pd.Series:
    """`control` for the customers whose salted-hash bucket falls under the share: the same
    customer and salt always land in the same arm; without the salt nobody can predict it."""
    arms = [CONTROL if bucket(str(c), salt) < control_share else TREATED for c in customer_ids]
    return pd.Series(arms, index=customer_ids.index, dtype=object)


def contact_list(top: pd.DataFrame, params: PlanParams) -> pd.DataFrame:
    """The ranked contact list: rank 1 first, every planned customer with its arm."""
    out = top.copy()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["arm"] = assign_arms(out[ID_COLUMN], params.salt, params.control_share)
    if "predicted_uplift" not in out.columns:
        out["predicted_uplift"] = np.nan
    out["churn_probability"] = out["churn_probability"].round(6)
    out["expected_value"] = out["expected_value"].round(4)
    out["predicted_uplift"] = out["predicted_uplift"].round(6)
    return out[list(CONTACT_COLUMNS)]
