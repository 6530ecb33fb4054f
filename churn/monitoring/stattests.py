"""Which drift test runs on which column, and how its score turns into a yes/no.

Distance tests (Wasserstein, Jensen-Shannon, PSI, ...) measure how far a distribution moved; their
thresholds are effect sizes and do not shrink as the window grows. P-value tests (KS, chi-square,
...) flag ever smaller changes as the window grows, so at 1000-2000 live rows they raise alarms on
noise: we default to distances.
"""

from __future__ import annotations

from typing import Literal

from churn.schema import FEATURES_BY_NAME

NumericMethod = Literal[
    "wasserstein", "psi", "kl_div", "jensenshannon", "hellinger", "ks", "t_test"
]
CategoricalMethod = Literal["jensenshannon", "psi", "kl_div", "hellinger", "chisquare", "z"]
Method = NumericMethod | CategoricalMethod

P_VALUE_METHODS = frozenset({"ks", "t_test", "chisquare", "z"})
"""Methods whose score is a p-value: drift when the score is BELOW the threshold."""

PREDICTION_COLUMN = "prediction"


def is_drifted(method: str, score: float, threshold: float) -> bool:
    """Evidently's own rule: p-values drift below the threshold, distances at or above it."""
    if method in P_VALUE_METHODS:
        return score < threshold
    return score >= threshold


def column_kind(column: str) -> Literal["numeric", "categorical"]:
    """Numbers (tenure, charges) are numeric; categories and the 0/1 SeniorCitizen categorical."""
    if column == PREDICTION_COLUMN:
        return "numeric"
    feature = FEATURES_BY_NAME[column]
    return "numeric" if feature.is_numeric and feature.kind != "binary" else "categorical"
