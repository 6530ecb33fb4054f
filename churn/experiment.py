"""Serving experiments between the production model (champion) and a challenger: the pure rules.

- `shadow`: every request is answered by the champion; the challenger scores the same records
  off the response path and its rows are logged with arm "challenger", served false.
- `ab`: each customer is assigned to an arm by a salted hash of the raw customerID, so a customer
  always sees the same arm; `share` of customers go to the challenger; a record without a
  customerID goes to the champion.

The service (bentos/live_model.py), the CLI (`churn experiment`) and the registries
(churn/control/registry.py) use these functions; nothing here imports a framework.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MODES = ("none", "shadow", "ab")
ARMS = ("champion", "challenger")
CHAMPION, CHALLENGER = ARMS
MAX_SHARE = 0.5
"""The challenger never answers more than half of the customers: it is the unproven model."""
_BUCKETS = 2**64


class ExperimentError(ValueError):
    """An experiment that cannot start (bad mode, share, challenger)."""


@dataclass(frozen=True)
class ExperimentPlan:
    """A validated experiment: what `churn experiment start` writes to the serving state."""

    mode: str
    challenger_version: str
    share: float
    salt: str


def validate(
    mode: str,
    challenger_version: str,
    production_version: str | None,
    share: float | None,
    salt: str | None = None,
) -> ExperimentPlan:
    """The plan for `churn experiment start`, or `ExperimentError` saying what is wrong.

    `share` only means something in A/B (default 0.1); shadow scores every request.
    """
    if mode not in ("shadow", "ab"):
        raise ExperimentError(f"mode must be 'shadow' or 'ab', not {mode!r}")
    if not challenger_version.strip():
        raise ExperimentError("the challenger version must not be empty")
    if production_version is None:
        raise ExperimentError("there is no production model to compare the challenger with")
    if challenger_version == production_version:
        raise ExperimentError(
            f"version {challenger_version} is already in production: pick another challenger"
        )
    if mode == "shadow":
        if share is not None and share != 1.0:
            raise ExperimentError("--share applies to ab only: shadow scores every request")
        share = 1.0
    else:
        share = 0.1 if share is None else share
        if not math.isfinite(share) or not 0.0 < share <= MAX_SHARE:
            raise ExperimentError(f"share must be in (0, {MAX_SHARE}], not {share}")
    return ExperimentPlan(mode, challenger_version, float(share), salt or secrets.token_hex(8))


def bucket(customer_id: str, salt: str) -> float:
    """A uniform number in [0, 1) fixed by (salt, customerID): the customer's place in the split."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _BUCKETS


def assign(customer_id: str | None, salt: str, share: float) -> str:
    """The A/B arm of a customer: "challenger" for the lowest `share` of buckets."""
    if not customer_id:
        return CHAMPION
    return CHALLENGER if bucket(customer_id, salt) < share else CHAMPION


def agreement(pairs: Sequence[tuple[float, bool, float, bool]]) -> dict[str, float | int | None]:
    """How often the two arms decided the same on the same records (shadow pairs of champion
    probability, decision, challenger probability, decision), and how far their scores differ."""
    if not pairs:
        return {"pairs": 0, "decision_agreement": None, "mean_abs_probability_difference": None}
    x = np.asarray(pairs, dtype=float)
    return {
        "pairs": len(pairs),
        "decision_agreement": float((x[:, 1] == x[:, 3]).mean()),
        "mean_abs_probability_difference": float(np.abs(x[:, 0] - x[:, 2]).mean()),
    }
