"""Engineered features computed from the encoded matrix, so the service's fast path still holds.

They sit inside the `"model"` step of the pipeline, after `ChurnEncoder`: `encode_records`
followed by `named_steps["model"].predict_proba` stays equal to `pipeline.predict_proba(frame)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from churn.features import COLUMN_NAMES, NUMERIC_INPUTS
from churn.schema import INTERNET_ADDONS

# The dense (standardised) columns are first in the encoded matrix.
_DENSE = list(range(len(NUMERIC_INPUTS)))
INTERACTION_GROUPS = (
    "Contract=Month-to-month",
    "Contract=Two year",
    "InternetService=Fiber optic",
    "InternetService=No",
    "PaymentMethod=Electronic check",
)


class EncodedInteractions(TransformerMixin, BaseEstimator):
    """Append products of each dense column with a few one-hot indicators."""

    def fit(self, X: np.ndarray, y: Any = None) -> EncodedInteractions:
        self.group_index_ = [COLUMN_NAMES.index(g) for g in INTERACTION_GROUPS]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        dense = X[:, _DENSE]
        parts = [X] + [dense * X[:, [j]] for j in self.group_index_]
        return np.hstack(parts)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        dense = [COLUMN_NAMES[i] for i in _DENSE]
        extra = [f"{d}*{g}" for g in INTERACTION_GROUPS for d in dense]
        return np.asarray([*COLUMN_NAMES, *extra], dtype=object)


TENURE_BUCKETS = (0, 6, 12, 24, 48)  # months: [0,6), [6,12), [12,24), [24,48), [48, ...)
CONTRACTS = ("Month-to-month", "One year", "Two year")
_SERVICES = ("MultipleLines", *INTERNET_ADDONS)


def domain_features(frame: pd.DataFrame) -> np.ndarray:
    """Features the domain suggests, from the typed frame (measured in benchmarks/model_quality.py).

    Number of services, total charges per month of tenure relative to the monthly charge (a price
    change), and tenure buckets one-hot per contract. Not in the pipeline: repeated CV showed no
    gain beyond the spread (docs/training.md), so the serving encoder stays as it is.
    """
    n = len(frame)
    services = (frame["PhoneService"].to_numpy() == "Yes").astype(np.float64)
    services += (frame["InternetService"].to_numpy() != "No").astype(np.float64)
    for name in _SERVICES:
        services += (frame[name].to_numpy() == "Yes").astype(np.float64)
    tenure = frame["tenure"].to_numpy(dtype=np.float64)
    monthly = frame["MonthlyCharges"].to_numpy(dtype=np.float64)
    per_month = frame["TotalCharges"].to_numpy(dtype=np.float64) / np.maximum(tenure, 1.0)
    price_change = np.log((monthly + 1.0) / (per_month + 1.0))
    bucket = np.searchsorted(np.asarray(TENURE_BUCKETS[1:]), tenure, side="right")
    contract = np.fromiter((CONTRACTS.index(c) for c in frame["Contract"]), np.int64, count=n)
    cross = np.zeros((n, len(TENURE_BUCKETS) * len(CONTRACTS)))
    cross[np.arange(n), contract * len(TENURE_BUCKETS) + bucket] = 1.0
    return np.column_stack([services, price_change, cross])


class DomainFeatureUnion(TransformerMixin, BaseEstimator):
    """`ChurnEncoder` output plus standardised `domain_features`, for the measurement only."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> DomainFeatureUnion:
        from churn.features import ChurnEncoder

        self.encoder_ = ChurnEncoder().fit(X)
        extra = domain_features(X)
        self.mean_ = extra.mean(axis=0)
        std = extra.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        extra = (domain_features(X) - self.mean_) / self.scale_
        return np.hstack([self.encoder_.transform(X), extra])
