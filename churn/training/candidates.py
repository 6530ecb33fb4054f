"""The candidate models: each a `Pipeline([("encode", ChurnEncoder()), ("model", estimator)])`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn.features import ChurnEncoder
from churn.training.config import CANDIDATE_NAMES
from churn.training.engineered import EncodedInteractions

DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "logistic_regression": {"C": [0.03, 0.1, 0.3, 1.0]},
    "random_forest": {
        "n_estimators": [100],
        "min_samples_leaf": [10, 20],
        "max_features": [0.3],
        "max_samples": [0.5],
    },
    "hist_gradient_boosting": {
        "learning_rate": [0.05],
        "max_depth": [3],
        "max_iter": [150],
        "min_samples_leaf": [40],
    },
    "lightgbm": {
        "n_estimators": [300],
        "learning_rate": [0.02],
        "num_leaves": [8],
        "min_child_samples": [40],
    },
}


def _logistic_regression(seed: int) -> BaseEstimator:
    # The interactions let the linear model bend with tenure and charges per contract/service.
    return Pipeline(
        [
            ("interact", EncodedInteractions()),
            ("clf", LogisticRegression(max_iter=3000, random_state=seed)),
        ]
    )


def _random_forest(seed: int) -> BaseEstimator:
    return RandomForestClassifier(n_jobs=1, random_state=seed)


def _hist_gradient_boosting(seed: int) -> BaseEstimator:
    return HistGradientBoostingClassifier(random_state=seed, l2_regularization=1.0)


def _lightgbm(seed: int) -> BaseEstimator:
    # Imported lazily: the service image needs lightgbm only when a LightGBM model is packaged.
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        random_state=seed,
        n_jobs=1,
        verbose=-1,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        reg_lambda=1.0,
    )


FACTORIES: dict[str, Callable[[int], BaseEstimator]] = {
    "logistic_regression": _logistic_regression,
    "random_forest": _random_forest,
    "hist_gradient_boosting": _hist_gradient_boosting,
    "lightgbm": _lightgbm,
}
assert set(FACTORIES) == set(CANDIDATE_NAMES)

# Where each grid key goes inside the pipeline (the LR sits behind the interaction step).
PARAM_PREFIX = {
    "logistic_regression": "model__clf__",
    "random_forest": "model__",
    "hist_gradient_boosting": "model__",
    "lightgbm": "model__",
}


def build_pipeline(name: str, seed: int = 42) -> Pipeline:
    """The untrained pipeline of one candidate."""
    return Pipeline([("encode", ChurnEncoder()), ("model", FACTORIES[name](seed))])


def param_grid(name: str, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A config grid (plain estimator parameter names) as GridSearchCV parameter names."""
    return {f"{PARAM_PREFIX[name]}{key}": list(values) for key, values in grid.items()}


def grids_for(configured: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
    """The candidates to train: those in the config, else all with the default grids."""
    return dict(configured) if configured else dict(DEFAULT_GRIDS)


def strip_prefix(name: str, params: dict[str, Any]) -> dict[str, Any]:
    prefix = PARAM_PREFIX[name]
    return {k.removeprefix(prefix): v for k, v in params.items()}
