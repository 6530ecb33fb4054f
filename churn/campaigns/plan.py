"""Planning a campaign: validated parameters, the ranking key, the top N kept while streaming, and
the control group drawn by a salted hash of the customer ID."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.campaigns.segments import risk_deciles, tenure_band
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
    "risk_decile",
    "contract",
    "tenure_band",
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
    horizon_days: int = 30
    min_detectable: float | None = None


DEFAULT_HORIZON_DAYS = 30
MAX_HORIZON_DAYS = 366


def validate_params(
    name: str,
    budget: int,
    control_share: float,
    offer_cost: float,
    saved_value: float,
    rank: str,
    salt: str | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    min_detectable: float | None = None,
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
    if saved_value == 0 and rank != "risk":
        raise CampaignError(
            f"--saved-value 0 makes every contact worth -C under --rank {rank}: the ranking "
            "would be the file's order; give --saved-value > 0 or plan with --rank risk"
        )
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise CampaignError(
            f"--horizon-days must be in [1, {MAX_HORIZON_DAYS}], got {horizon_days}"
        )
    wanted = min_detectable
    if wanted is not None and not (math.isfinite(wanted) and 0 < wanted < 1):
        raise CampaignError(f"--min-detectable must be an uplift in (0, 1), got {min_detectable}")
    return PlanParams(
        name, budget, float(control_share), float(offer_cost), float(saved_value), rank,
        salt or secrets.token_hex(16), int(horizon_days), min_detectable,
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


def assign_arms(
    customer_ids: pd.Series, salt: str, control_share: float, strata: pd.Series | None = None
) -> pd.Series:
    """Stratified, systematic split: customers ordered by stratum (the risk decile), then by a
    salted hash of their ID (random without the salt, reproducible with it); walking that order,
    a customer is `control` each time the running count x share crosses a whole number plus a
    half. Each stratum gets its share to within one customer, the control arm holds exactly
    round(N x share) customers (the plan refuses when that is 0), and the arms are balanced on
    risk by construction, not by luck; who lands at a control position is random (the hash)."""
    n = len(customer_ids)
    if n == 0:
        return pd.Series([], index=customer_ids.index, dtype=object)
    hashed = np.array([bucket(str(c), salt) for c in customer_ids])
    key = np.zeros(n) if strata is None else strata.to_numpy(dtype=float)
    order = np.lexsort((hashed, key))
    offset = 0.5
    position = np.arange(n)
    crossing = np.floor((position + 1) * control_share + offset) > np.floor(
        position * control_share + offset
    )
    control = np.zeros(n, dtype=bool)
    control[order] = crossing
    return pd.Series(np.where(control, CONTROL, TREATED), index=customer_ids.index, dtype=object)


def contact_list(top: pd.DataFrame, params: PlanParams) -> pd.DataFrame:
    """The ranked contact list: rank 1 first, every planned customer with its arm and the
    segments the report breaks the effect down by (risk decile among the planned, contract,
    tenure band)."""
    out = top.copy()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["risk_decile"] = risk_deciles(out["churn_probability"]).to_numpy()
    out["arm"] = assign_arms(out[ID_COLUMN], params.salt, params.control_share, out["risk_decile"])
    if "predicted_uplift" not in out.columns:
        out["predicted_uplift"] = np.nan
    out["contract"] = out["Contract"] if "Contract" in out.columns else None
    out["tenure_band"] = tenure_band(out["tenure"]) if "tenure" in out.columns else None
    out["churn_probability"] = out["churn_probability"].round(6)
    out["expected_value"] = out["expected_value"].round(4)
    out["predicted_uplift"] = out["predicted_uplift"].round(6)
    return out[list(CONTACT_COLUMNS)]


def in_holdout(customer_ids: pd.Series, salt: str, share: float) -> np.ndarray:
    """The global hold-out: customers whose salted bucket falls under its share (stable for a
    customer, and for customers who join later)."""
    return np.array([bucket(str(c), salt) < share for c in customer_ids], dtype=bool)


@dataclass(frozen=True)
class Power:
    n_treated: int
    n_control: int
    baseline: float
    min_detectable: float | None
    refuse: bool
    message: str


def power_of(contacts: pd.DataFrame, params: PlanParams) -> Power:
    """The plan's power figure: the smallest uplift it detects with 80% power at the 5% level,
    with the control churn rate taken as the model's mean churn probability of the planned; the
    plan is refused when that is above `--min-detectable` (the uplift the offer is expected to
    have) or when an arm is empty."""
    from churn.campaigns.stats import budget_for, min_detectable

    n_control = int((contacts["arm"] == CONTROL).sum())
    n_treated = len(contacts) - n_control
    baseline = float(contacts["churn_probability"].mean()) if len(contacts) else 0.0
    mde = min_detectable(n_treated, n_control, baseline)
    if mde is None:
        empty = "control" if n_control == 0 else "treated"
        return Power(n_treated, n_control, baseline, None, True, (
            f"the {empty} arm would be empty ({n_treated} treated, {n_control} control from "
            f"--budget {params.budget} x --control-share {params.control_share}): no uplift "
            "could be measured; raise the budget or the share"
        ))  # fmt: skip
    message = (
        f"power: {n_treated} treated, {n_control} control, control churn near {baseline:.3f}: "
        f"the smallest uplift this plan detects with 80% power (5% level) is {mde:.3f}"
    )
    wanted = params.min_detectable
    refuse = wanted is not None and mde > wanted
    if wanted is not None:
        need = budget_for(wanted, params.control_share, baseline)
        message += (
            f"; the offer is expected to give {wanted:.3f}: "
            + (f"the plan cannot detect it (a budget of {need} at this share could)"
               if refuse else "the plan can detect it")
        )  # fmt: skip
    return Power(n_treated, n_control, baseline, mde, refuse, message)
