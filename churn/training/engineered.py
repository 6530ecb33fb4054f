"""Engineered features computed from the encoded matrix, so the service's fast path still holds.

They sit inside the `"model"` step of the pipeline, after `ChurnEncoder`: `encode_records`
followed by `named_steps["model"].predict_proba` stays equal to `pipeline.predict_proba(frame)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from churn.features import COLUMN_NAMES, NUMERIC_INPUTS

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
