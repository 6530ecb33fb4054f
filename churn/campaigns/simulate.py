"""Simulated campaign outcomes with a known truth, for the demonstration and the tests.

Without an offer a customer churns with the generator's own true probability p0
(`churn.generator.churn_probability`); an offer multiplies it by (1 - effect), where the effect
may differ by segment (for example offers work on DSL customers and not on fiber customers).
The treated probability is clipped to [0, 1] (an offer that backfires cannot push a customer
past certain churn), and the true uplift of the campaign is then known exactly: the mean of
p0 - clip(p0 * (1 - effect)) over everyone planned (treated or not, since the arms are a random
split of the same customers). `return_rate` below 1 leaves that share of outcomes never coming
back, at random (missing outcomes in the tests).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn.campaigns.plan import TREATED, CampaignError
from churn.generator import churn_probability
from churn.schema import FEATURES_BY_NAME, ID_COLUMN


@dataclass(frozen=True)
class SegmentEffect:
    column: str
    value: str
    effect: float


@dataclass(frozen=True)
class EffectSpec:
    """The relative drop in churn probability an offer causes: `default`, or the effect of the
    first segment a customer belongs to."""

    default: float
    segments: tuple[SegmentEffect, ...] = ()

    def effects(self, features: pd.DataFrame) -> np.ndarray:
        out = np.full(len(features), self.default, dtype=float)
        done = np.zeros(len(features), dtype=bool)
        for seg in self.segments:
            hit = (features[seg.column].astype(str).to_numpy() == seg.value) & ~done
            out[hit] = seg.effect
            done |= hit
        return out


def _check_effect(flag: str, value: float) -> float:
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise CampaignError(f"{flag} must be in [-1, 1] (a relative change), got {value}")
    return value


def parse_effects(default: float, segments: list[str]) -> EffectSpec:
    """`--effect 0.1 --segment-effect InternetService=DSL:0.6 ...`, checked against the schema."""
    parsed = []
    for text in segments:
        column, _, rest = text.partition("=")
        value, _, effect = rest.rpartition(":")
        feature = FEATURES_BY_NAME.get(column)
        if feature is None or not value or not effect:
            raise CampaignError(
                f"--segment-effect {text!r} must look like COLUMN=VALUE:EFFECT with COLUMN a "
                "feature of the schema (e.g. Contract=Month-to-month:0.5)"
            )
        if feature.categories and value not in feature.categories:
            raise CampaignError(
                f"--segment-effect {text!r}: {column} has no category {value!r}; "
                f"choose one of {list(feature.categories)}"
            )
        try:
            number = float(effect)
        except ValueError:
            raise CampaignError(f"--segment-effect {text!r}: {effect!r} is not a number") from None
        parsed.append(SegmentEffect(column, value, _check_effect("--segment-effect", number)))
    return EffectSpec(_check_effect("--effect", default), tuple(parsed))


@dataclass(frozen=True)
class Simulated:
    outcomes: pd.DataFrame  # customerID, Churn (Yes/No), observed_at (ISO 8601, UTC)
    true_uplift: float  # the campaign's true uplift (mean of p0 - clip(p0 * (1 - effect)))
    true_customers_saved: float  # true uplift x treated n


def simulate(
    planned: pd.DataFrame,
    spec: EffectSpec,
    seed: int,
    start: dt.datetime,
    end: dt.datetime,
    return_rate: float = 1.0,
) -> Simulated:
    """Outcomes for `planned` (features, `customerID` as in the customers file, `arm`), observed
    at random times in [start, end]."""
    rng = np.random.default_rng(seed)
    p0 = churn_probability(planned)
    effect = spec.effects(planned)
    treated = planned["arm"].to_numpy() == TREATED
    offered = np.clip(p0 * (1 - effect), 0.0, 1.0)
    p = np.where(treated, offered, p0)
    churned = rng.random(len(planned)) < p
    span = max((end - start).total_seconds(), 0.0)
    seconds = rng.random(len(planned)) * span
    observed = [(start + dt.timedelta(seconds=float(s))).isoformat() for s in seconds]
    outcomes = pd.DataFrame(
        {
            ID_COLUMN: planned[ID_COLUMN].to_numpy(),
            "Churn": np.where(churned, "Yes", "No"),
            "observed_at": observed,
        }
    )
    back = rng.random(len(planned)) < return_rate
    outcomes = outcomes[back].reset_index(drop=True)
    uplift = float(np.mean(p0 - offered)) if len(planned) else 0.0
    return Simulated(outcomes, uplift, uplift * int(treated.sum()))
