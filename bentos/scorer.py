"""Exact, pandas-free scoring and additive explanations for a saved churn pipeline.

The pipeline is `Pipeline([("encode", ChurnEncoder()), ("model", estimator)])`, where the
estimator is what `churn.training.candidates` builds: `Pipeline([EncodedInteractions,
LogisticRegression])`, a random forest, a histogram gradient boosting or a LightGBM classifier.
Records go through `encode_records` (microseconds) instead of `transform(DataFrame)`
(milliseconds). The fast path is chosen by what the model *is*:

- linear: logistic regression behind any `EncodedInteractions` (linear in the expanded
  features): expit(expand(X) @ coef + b), Shapley values in closed form;
- tree ensembles: every tree walked at once on numpy arrays (`bentos.trees`), exact
  path-dependent TreeSHAP; LightGBM through its booster on numpy (`pred_contrib` = TreeSHAP);
- anything else: the estimator's own `predict_proba` on the encoded matrix, mean occlusion.

Probabilities equal `pipeline.predict_proba` to floating-point rounding (tests: 1e-9).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bentos import trees
from churn.features import COLUMN_SOURCES, ChurnEncoder
from churn.schema import FEATURE_NAMES
from churn.training.engineered import EncodedInteractions

Record = Mapping[str, Any]

_FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
_SOURCE_OF_COLUMN = np.array([_FEATURE_INDEX[s] for s in COLUMN_SOURCES], dtype=np.int64)
_SOURCE_INDEX: dict[str, np.ndarray] = {
    name: np.flatnonzero(i == _SOURCE_OF_COLUMN) for i, name in enumerate(FEATURE_NAMES)
}

LINEAR = "linear_shapley_log_odds"
TREE_LOG_ODDS = "tree_shap_log_odds"
TREE_PROBABILITY = "tree_shap_probability"
OCCLUSION = "mean_occlusion"


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


def _lightgbm_classifier() -> type | None:
    """LGBMClassifier if lightgbm is loaded (unpickling a LightGBM pipeline imports it)."""
    module = sys.modules.get("lightgbm")
    return getattr(module, "LGBMClassifier", None) if module is not None else None


class Scorer:
    """Turns customer records into churn probabilities with the pipeline's own numbers."""

    def __init__(self, pipeline: Pipeline) -> None:
        encoder = pipeline.named_steps.get("encode") if hasattr(pipeline, "named_steps") else None
        if not isinstance(encoder, ChurnEncoder):
            raise TypeError(f"first pipeline step must be a ChurnEncoder, got {type(encoder)}")
        self.pipeline = pipeline
        self.encoder = encoder
        self.means = np.asarray(encoder.column_means_, dtype=np.float64)
        model = pipeline.steps[-1][1]
        pre, final = (
            (model.steps[:-1], model.steps[-1][1]) if isinstance(model, Pipeline) else ([], model)
        )
        self.estimator: Any = final
        self._model = model
        self._pre = [step for _, step in pre if step not in (None, "passthrough")]
        self._proba: Callable[[np.ndarray], np.ndarray] = self._proba_generic
        self._explain: Callable[[np.ndarray], tuple[float, np.ndarray, str]] | None = None
        self._one: _LinearRecord | None = None
        self.kind = "generic"
        self._setup()

    # ------------------------------------------------------------------ choosing the fast path

    def _setup(self) -> None:
        est = self.estimator
        only_interactions = all(isinstance(s, EncodedInteractions) for s in self._pre)
        if isinstance(est, LogisticRegression) and est.coef_.shape[0] == 1 and only_interactions:
            # an expansion it cannot read raises: the generic path stays (and is exact)
            with contextlib.suppress(ValueError):
                self._setup_linear()
            return
        if self._pre:
            return
        ensemble = None
        if isinstance(est, RandomForestClassifier | ExtraTreesClassifier):
            ensemble, method = trees.from_forest(est), TREE_PROBABILITY
        elif isinstance(est, HistGradientBoostingClassifier):
            ensemble, method = trees.from_hist_gradient_boosting(est), TREE_LOG_ODDS
        else:
            lgbm = _lightgbm_classifier()
            if lgbm is not None and isinstance(est, lgbm) and len(self.estimator.classes_) == 2:
                self._setup_lightgbm()
            return
        if ensemble is not None:
            self._setup_trees(ensemble, method)

    def _setup_linear(self) -> None:
        est = self.estimator
        coef = np.ascontiguousarray(est.coef_[0], dtype=np.float64)
        intercept = float(est.intercept_[0])
        pre = self._pre

        def expand(X: np.ndarray) -> np.ndarray:
            for step in pre:
                X = step.transform(X)
            return X

        # logit(x) = b + w.x + sum_k v_k x[a_k] x[c_k]: main weights and the product terms
        n = self.means.shape[0]
        main = np.zeros(n)
        pairs: list[tuple[int, int, float]] = []
        width = n
        columns: list[tuple[int, ...]] = [(j,) for j in range(n)]
        for step in pre:
            groups = list(step.group_index_)
            dense = _dense_columns()
            for g in groups:
                for d in dense:
                    columns.append((*columns[d], *columns[g]))
            width = len(columns)
        if width != coef.shape[0]:
            raise ValueError(f"expanded width {width} != {coef.shape[0]} coefficients")
        for k, cols in enumerate(columns):
            if len(cols) == 1:
                main[cols[0]] += coef[k]
            elif len(cols) == 2:
                pairs.append((cols[0], cols[1], float(coef[k])))
            else:
                raise ValueError(
                    "only products of two encoded columns are explained in closed form"
                )
        self._main = main
        self._pair_a = np.array([a for a, _, _ in pairs], dtype=np.int64)
        self._pair_b = np.array([b for _, b, _ in pairs], dtype=np.int64)
        self._pair_w = np.array([w for _, _, w in pairs], dtype=np.float64)
        self._coef, self._intercept = coef, intercept
        self.kind = "linear"

        def proba(X: np.ndarray) -> np.ndarray:
            return np.asarray(expit(expand(X) @ coef + intercept), dtype=np.float64)

        self._proba = proba
        self._explain = self._explain_linear_columns
        one = _LinearRecord(self.encoder, main, pairs, intercept)
        self._one = one if one.supported else None  # products of two indicators: matrix path

    def _setup_trees(self, ensemble: trees.TreeEnsemble, method: str) -> None:
        self.kind = "trees"
        if method == TREE_LOG_ODDS:

            def proba(X: np.ndarray) -> np.ndarray:
                return np.asarray(expit(ensemble.output(X)), dtype=np.float64)
        else:

            def proba(X: np.ndarray) -> np.ndarray:
                return ensemble.output(X)

        def explain(x: np.ndarray) -> tuple[float, np.ndarray, str]:
            base, phi = ensemble.shap_values(x)
            return base, phi, method

        self._proba = proba
        self._explain = explain

    def _setup_lightgbm(self) -> None:
        booster = self.estimator.booster_
        self.kind = "lightgbm"

        def proba(X: np.ndarray) -> np.ndarray:
            return np.asarray(booster.predict(X, raw_score=False), dtype=np.float64).reshape(-1)

        def explain(x: np.ndarray) -> tuple[float, np.ndarray, str]:
            contrib = np.asarray(booster.predict(x.reshape(1, -1), pred_contrib=True))[0]
            return float(contrib[-1]), contrib[:-1], TREE_LOG_ODDS

        self._proba = proba
        self._explain = explain

    # ---------------------------------------------------------------------------- scoring

    @property
    def model_type(self) -> str:
        return type(self.estimator).__name__

    def encode(self, records: Sequence[Record]) -> np.ndarray:
        return self.encoder.encode_records(records)

    def _proba_generic(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self._model.predict_proba(X)[:, 1], dtype=np.float64)

    def proba_encoded(self, X: np.ndarray) -> np.ndarray:
        """P(churn) for an encoded matrix."""
        return self._proba(X)

    def proba(self, records: Sequence[Record]) -> np.ndarray:
        if not records:
            return np.zeros(0, dtype=np.float64)
        if len(records) == 1 and self._one is not None:
            return np.array([self._one.proba(records[0])])
        return self._proba(self.encode(records))

    def proba_one(self, record: Record) -> float:
        """P(churn) for one record (pure Python for linear models: no array for 93 columns)."""
        if self._one is not None:
            return self._one.proba(record)
        return float(self._proba(self.encode([record]))[0])

    # ------------------------------------------------------------------------ explaining

    def explain(self, record: Record) -> Explanation:
        """Per-input-feature contributions, largest magnitude first (method in docs/serving.md).

        For the additive methods, base_value + sum(contributions) is the model's margin: the
        log-odds (linear, gradient boosting) or the probability (forests)."""
        x = self.encode([record])[0]
        prob = float(self._proba(x.reshape(1, -1))[0])
        if self._explain is None:
            return self._explain_occlusion(record, x, prob)
        base, per_column, method = self._explain(x)
        per_feature = np.bincount(
            _SOURCE_OF_COLUMN, weights=per_column, minlength=len(FEATURE_NAMES)
        )
        contributions = [
            Contribution(name, record[name], float(per_feature[i]))
            for i, name in enumerate(FEATURE_NAMES)
        ]
        return Explanation(prob, float(base), method, _ordered(contributions))

    def _explain_linear_columns(self, x: np.ndarray) -> tuple[float, np.ndarray, str]:
        """Exact Shapley values (baseline: the training-mean encoded customer m), in log-odds.

        w_j x_j gives w_j (x_j - m_j) to column j. A product v x_a x_c is
        v m_a m_c + v (x_a - m_a) m_c + v m_a (x_c - m_c) + v (x_a - m_a)(x_c - m_c): the two main
        effects go to their columns and the last (interaction) term is split equally.
        """
        m = self.means
        phi = self._main * (x - m)
        a, c, v = self._pair_a, self._pair_b, self._pair_w
        da, dc = x[a] - m[a], x[c] - m[c]
        half = 0.5 * v * da * dc
        np.add.at(phi, a, v * da * m[c] + half)
        np.add.at(phi, c, v * m[a] * dc + half)
        base = self._intercept + float(self._main @ m) + float(np.sum(v * m[a] * m[c]))
        return base, phi, LINEAR

    def _explain_occlusion(self, record: Record, x: np.ndarray, prob: float) -> Explanation:
        rows = np.tile(x, (len(_SOURCE_INDEX) + 2, 1))
        rows[1] = self.means
        for i, idx in enumerate(_SOURCE_INDEX.values(), start=2):
            rows[i, idx] = self.means[idx]
        probs = self._proba(rows)
        contributions = [
            Contribution(name, record[name], prob - float(probs[i]))
            for i, name in enumerate(_SOURCE_INDEX, start=2)
        ]
        return Explanation(prob, float(probs[1]), OCCLUSION, _ordered(contributions))


class _LinearRecord:
    """The linear model compiled per input value: one record's log-odds in a few dict lookups.

    b + sum_j w_j x_j + sum_k v_k x_a x_c over the encoded row, where the row is 4 numbers and
    one active indicator per categorical input; the same terms as the matrix path, summed in
    another order (equal to ~1e-15)."""

    def __init__(
        self,
        encoder: ChurnEncoder,
        main: np.ndarray,
        pairs: list[tuple[int, int, float]],
        intercept: float,
    ) -> None:
        from churn.features import BINARY_INPUTS, LOG_INPUTS, NUMERIC_INPUTS, ONEHOT_INDEX

        self.intercept = intercept
        self.numeric = [
            (name, name in LOG_INPUTS, float(encoder.mean_[i]), float(encoder.scale_[i]), i)
            for i, name in enumerate(NUMERIC_INPUTS)
        ]
        self.binary = [(name, len(NUMERIC_INPUTS) + i) for i, name in enumerate(BINARY_INPUTS)]
        self.main = [float(w) for w in main]
        self.onehot = {name: dict(positions) for name, positions in ONEHOT_INDEX.items()}
        # products by the column that is a one-hot indicator: (other column, weight)
        self.by_column: dict[int, list[tuple[int, float]]] = {}
        self.dense_pairs: list[tuple[int, int, float]] = []
        n_dense = len(NUMERIC_INPUTS) + len(BINARY_INPUTS)
        self.supported = all(a < n_dense or c < n_dense for a, c, _ in pairs)
        for a, c, v in pairs:
            if c >= n_dense:
                self.by_column.setdefault(c, []).append((a, v))
            elif a >= n_dense:
                self.by_column.setdefault(a, []).append((c, v))
            else:
                self.dense_pairs.append((a, c, v))
        self.n_dense = n_dense

    def proba(self, record: Record) -> float:
        dense = [0.0] * self.n_dense
        for name, is_log, mean, scale, i in self.numeric:
            value = float(record[name])
            dense[i] = ((math.log1p(value) if is_log else value) - mean) / scale
        for name, i in self.binary:
            dense[i] = float(record[name])
        main = self.main
        z = self.intercept
        for i, value in enumerate(dense):
            z += main[i] * value
        for a, c, v in self.dense_pairs:
            z += v * dense[a] * dense[c]
        by_column = self.by_column
        for name, positions in self.onehot.items():
            col = positions[record[name]]
            z += main[col]
            for other, v in by_column.get(col, ()):
                z += v * dense[other]
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


def _dense_columns() -> list[int]:
    from churn.features import NUMERIC_INPUTS

    return list(range(len(NUMERIC_INPUTS)))


def _ordered(contributions: list[Contribution]) -> list[Contribution]:
    return sorted(contributions, key=lambda c: abs(c.contribution), reverse=True)
