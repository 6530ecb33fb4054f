"""The business decision threshold: whom to offer a retention deal.

Offering costs `offer_cost` per customer contacted; a contacted churner who stays is worth
`saved_customer_value`. Expected value at threshold t over a labelled set:
    value(t) = saved_customer_value * TP(t) - offer_cost * (TP(t) + FP(t))
The threshold is chosen on out-of-fold predictions of the training split, never on the test split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    expected_value: float
    value_per_customer: float
    contacted_share: float


def retention_value(
    y_true: np.ndarray,
    proba: np.ndarray,
    threshold: float,
    offer_cost: float,
    saved_customer_value: float,
) -> float:
    flagged = proba >= threshold
    tp = float(np.sum(flagged & (y_true == 1)))
    return saved_customer_value * tp - offer_cost * float(np.sum(flagged))


def choose_threshold(
    y_true: np.ndarray,
    proba: np.ndarray,
    offer_cost: float,
    saved_customer_value: float,
    grid: np.ndarray | None = None,
) -> ThresholdChoice:
    """The threshold on `grid` (default 0.01..0.99) with the largest expected retention value."""
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    if grid is None:
        grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    values = np.array(
        [retention_value(y_true, proba, t, offer_cost, saved_customer_value) for t in grid]
    )
    best = int(np.argmax(values))
    t = float(grid[best])
    return ThresholdChoice(
        threshold=t,
        expected_value=float(values[best]),
        value_per_customer=float(values[best]) / max(len(y_true), 1),
        contacted_share=float(np.mean(proba >= t)),
    )
