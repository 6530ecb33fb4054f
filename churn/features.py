"""Feature encoding shared by training and serving.

`ChurnEncoder` is the first step of every model pipeline. It has two entry points that produce the
same float64 matrix bit for bit: `transform(DataFrame)` for training and offline scoring, and
`encode_records(list[dict])` for the service, which skips pandas entirely (a ColumnTransformer costs
10-25 ms for a single row; this costs microseconds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from churn.schema import CATEGORICAL, FEATURES_BY_NAME

NUMERIC_INPUTS = ("tenure", "MonthlyCharges", "TotalCharges")
LOG_INPUTS = ("TotalCharges",)
BINARY_INPUTS = ("SeniorCitizen",)


def _layout() -> tuple[list[str], list[str], dict[str, dict[str, int]]]:
    """Encoded column names, the input feature of each, and one-hot positions per category."""
    names: list[str] = []
    sources: list[str] = []
    for name in (*NUMERIC_INPUTS, *BINARY_INPUTS):
        names.append(f"log1p_{name}" if name in LOG_INPUTS else name)
        sources.append(name)
    onehot: dict[str, dict[str, int]] = {}
    for name in CATEGORICAL:
        onehot[name] = {}
        for cat in FEATURES_BY_NAME[name].categories:
            onehot[name][cat] = len(names)
            names.append(f"{name}={cat}")
            sources.append(name)
    return names, sources, onehot


COLUMN_NAMES, COLUMN_SOURCES, ONEHOT_INDEX = _layout()
N_COLUMNS = len(COLUMN_NAMES)
_N_DENSE = len(NUMERIC_INPUTS)
_LOG_POS = [NUMERIC_INPUTS.index(n) for n in LOG_INPUTS]


class ChurnEncoder(TransformerMixin, BaseEstimator):
    """One-hot categories on the schema's fixed categories; log1p and standardise numbers."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> ChurnEncoder:
        raw = self._raw_from_frame(X)
        dense = self._log(raw[:, :_N_DENSE])
        self.mean_ = dense.mean(axis=0)
        std = dense.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.column_means_ = self._finish(raw).mean(axis=0)
        self.n_features_out_ = N_COLUMNS
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return self._finish(self._raw_from_frame(X))

    def encode_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same matrix as `transform(pd.DataFrame(records))`, without pandas."""
        raw = np.zeros((len(records), N_COLUMNS), dtype=np.float64)
        for i, rec in enumerate(records):
            row = raw[i]
            row[0] = rec["tenure"]
            row[1] = rec["MonthlyCharges"]
            row[2] = rec["TotalCharges"]
            row[3] = rec["SeniorCitizen"]
            for name, positions in ONEHOT_INDEX.items():
                row[positions[rec[name]]] = 1.0
        return self._finish(raw)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(COLUMN_NAMES, dtype=object)

    @staticmethod
    def _raw_from_frame(X: pd.DataFrame) -> np.ndarray:
        n = len(X)
        raw = np.zeros((n, N_COLUMNS), dtype=np.float64)
        for j, name in enumerate((*NUMERIC_INPUTS, *BINARY_INPUTS)):
            raw[:, j] = X[name].to_numpy(dtype=np.float64)
        rows = np.arange(n)
        for name, positions in ONEHOT_INDEX.items():
            # codes hashed in C by pandas: a Python lookup per value was the slowest part of scoring
            codes = pd.Categorical(X[name], categories=list(positions)).codes
            if (codes < 0).any():
                raise KeyError(X[name].to_numpy(dtype=object)[codes < 0][0])
            raw[rows, np.fromiter(positions.values(), dtype=np.int64)[codes]] = 1.0
        return raw

    @staticmethod
    def _log(dense: np.ndarray) -> np.ndarray:
        out = dense.copy()
        out[:, _LOG_POS] = np.log1p(out[:, _LOG_POS])
        return out

    def _finish(self, raw: np.ndarray) -> np.ndarray:
        if hasattr(self, "mean_"):
            raw[:, :_N_DENSE] = (self._log(raw[:, :_N_DENSE]) - self.mean_) / self.scale_
        return raw
