"""Exact, pandas-free scoring and explanations for a saved churn pipeline.

The pipeline is `Pipeline([("encode", ChurnEncoder()), ("model", estimator)])`. Requests go
through `encode_records` (microseconds) instead of `transform(DataFrame)` (milliseconds); for
logistic regression the probability is computed directly as expit(X @ coef + b), which equals
`predict_proba` to floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn.features import COLUMN_SOURCES, ChurnEncoder
from churn.schema import FEATURE_NAMES

Record = Mapping[str, Any]

_SOURCE_INDEX: dict[str, np.ndarray] = {
    name: np.array([j for j, src in enumerate(COLUMN_SOURCES) if src == name], dtype=np.int64)
    for name in FEATURE_NAMES
}


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: Any
    contribution: float


@dataclass(frozen=True)
class Explanation:
    churn_probability: float
    base_value: float
    method: str
    contributions: list[Contribution]


class Scorer:
    """Turns customer records into churn probabilities with the pipeline's own numbers."""

    def __init__(self, pipeline: Pipeline) -> None:
        encoder = pipeline.named_steps["encode"]
        if not isinstance(encoder, ChurnEncoder):
            raise TypeError(f"first pipeline step must be a ChurnEncoder, got {type(encoder)}")
        self.pipeline = pipeline
        self.encoder = encoder
        self.estimator = pipeline.steps[-1][1]
        self.is_linear = isinstance(self.estimator, LogisticRegression)
        if self.is_linear:
            self._coef = np.ascontiguousarray(self.estimator.coef_[0], dtype=np.float64)
            self._intercept = float(self.estimator.intercept_[0])

    @property
    def model_type(self) -> str:
        return type(self.estimator).__name__

    def encode(self, records: Sequence[Record]) -> np.ndarray:
        return self.encoder.encode_records(records)

    def proba_encoded(self, X: np.ndarray) -> np.ndarray:
        """P(churn) for an encoded matrix."""
        if self.is_linear:
            return np.asarray(expit(X @ self._coef + self._intercept), dtype=np.float64)
        return np.asarray(self.estimator.predict_proba(X)[:, 1], dtype=np.float64)

    def proba(self, records: Sequence[Record]) -> np.ndarray:
        if not records:
            return np.zeros(0, dtype=np.float64)
        return self.proba_encoded(self.encode(records))

    def explain(self, record: Record) -> Explanation:
        """Per-input-feature contributions, largest magnitude first (method in docs/serving.md)."""
        x = self.encode([record])[0]
        means = np.asarray(self.encoder.column_means_, dtype=np.float64)
        if self.is_linear:
            return self._explain_linear(record, x, means)
        return self._explain_occlusion(record, x, means)

    def _explain_linear(self, record: Record, x: np.ndarray, means: np.ndarray) -> Explanation:
        per_column = self._coef * (x - means)
        contributions = [
            Contribution(name, record[name], float(per_column[idx].sum()))
            for name, idx in _SOURCE_INDEX.items()
        ]
        base = float(self._intercept + self._coef @ means)
        prob = float(expit(x @ self._coef + self._intercept))
        return Explanation(prob, base, "linear_log_odds", _ordered(contributions))

    def _explain_occlusion(self, record: Record, x: np.ndarray, means: np.ndarray) -> Explanation:
        rows = np.tile(x, (len(_SOURCE_INDEX) + 2, 1))
        rows[1] = means
        for i, idx in enumerate(_SOURCE_INDEX.values(), start=2):
            rows[i, idx] = means[idx]
        probs = self.proba_encoded(rows)
        prob = float(probs[0])
        contributions = [
            Contribution(name, record[name], prob - float(probs[i]))
            for i, name in enumerate(_SOURCE_INDEX, start=2)
        ]
        return Explanation(prob, float(probs[1]), "mean_occlusion", _ordered(contributions))


def _ordered(contributions: list[Contribution]) -> list[Contribution]:
    return sorted(contributions, key=lambda c: abs(c.contribution), reverse=True)
