"""The statistics a campaign's figures rest on, vectorised (numpy arrays in, arrays out) so the
coverage of the intervals can be measured over many simulated campaigns in seconds.

- `wilson`: the Wilson score interval of one proportion; right at small counts and at 0 or n
  events, where the normal (Wald) interval and the binomial bootstrap collapse to a point.
- `newcombe`: Newcombe's hybrid score interval (his method 10) for the difference of two
  proportions, built from the two Wilson intervals. Its coverage is measured in
  tests/campaigns/test_campaign_intervals.py: at least 0.93 at every tested size, from 10/90
  outcomes up.
- `min_detectable`: the smallest uplift a two-arm plan detects with 80% power at the 5% level
  (two-sided), for the planned arm sizes and the expected control churn rate.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

CONFIDENCE = 0.95
POWER = 0.8
MIN_OUTCOMES_PER_ARM = 10
"""Fewer outcomes than this in an arm: the report says "not enough outcomes yet", no number."""


def z_of(confidence: float) -> float:
    """The two-sided normal quantile of a confidence level (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(
    events: ArrayLike, n: ArrayLike, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the Wilson score interval of events/n (n > 0)."""
    z = z_of(confidence)
    e, m = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    p = e / m
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe(
    events_a: ArrayLike,
    n_a: ArrayLike,
    events_b: ArrayLike,
    n_b: ArrayLike,
    confidence: float = CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(difference, low, high) for p_a - p_b (campaigns: a = control, b = treated)."""
    pa = np.asarray(events_a, dtype=float) / np.asarray(n_a, dtype=float)
    pb = np.asarray(events_b, dtype=float) / np.asarray(n_b, dtype=float)
    la, ua = wilson(events_a, n_a, confidence)
    lb, ub = wilson(events_b, n_b, confidence)
    d = pa - pb
    low = d - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    high = d + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    return d, low, high


def min_detectable(
    n_treated: int, n_control: int, control_rate: float, power: float = POWER
) -> float | None:
    """The smallest true uplift (control rate minus treated rate) that a 5% two-sided test of
    this plan finds with `power`: (z_0.975 + z_power) x sqrt(p(1-p)(1/nt + 1/nc)). None for an
    empty arm. Example: N=4,000, control share 0.1, p=0.47 gives about 0.074."""
    if n_treated < 1 or n_control < 1:
        return None
    p = min(max(control_rate, 0.0), 1.0)
    se = np.sqrt(max(p * (1 - p), 1e-12) * (1 / n_treated + 1 / n_control))
    return float((z_of(CONFIDENCE) + NormalDist().inv_cdf(power)) * se)


def budget_for(
    uplift: float, control_share: float, control_rate: float, power: float = POWER
) -> int:
    """The smallest budget N whose plan has `min_detectable` at most `uplift`."""
    p = min(max(control_rate, 0.0), 1.0)
    k = (z_of(CONFIDENCE) + NormalDist().inv_cdf(power)) ** 2 * max(p * (1 - p), 1e-12)
    # 1/nt + 1/nc = 1/(N(1-s)) + 1/(N s) = 1/(N s (1-s))
    return int(np.ceil(k / (uplift**2 * control_share * (1 - control_share))))


def chi_square_p(observed: list[int], expected_shares: list[float]) -> float | None:
    """p-value of Pearson's goodness-of-fit test of counts against shares (the sample-ratio
    mismatch test); None without counts."""
    total = sum(observed)
    if total == 0:
        return None
    stat = sum(
        (o - total * s) ** 2 / (total * s)
        for o, s in zip(observed, expected_shares, strict=True)
        if s > 0
    )
    # df = len - 1; the campaigns use two arms: chi2(1) survival = 2 (1 - Phi(sqrt(stat)))
    if len(observed) != 2:
        raise ValueError("two arms only")
    return float(2 * (1 - NormalDist().cdf(float(np.sqrt(stat)))))


def two_proportion_p(events_a: int, n_a: int, events_b: int, n_b: int) -> float | None:
    """p-value of the pooled two-proportion z test (outcome return rates per arm)."""
    if n_a < 1 or n_b < 1:
        return None
    pooled = (events_a + events_b) / (n_a + n_b)
    var = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if var <= 0:
        return 1.0
    z = abs(events_a / n_a - events_b / n_b) / float(np.sqrt(var))
    return float(2 * (1 - NormalDist().cdf(z)))
