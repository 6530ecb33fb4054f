"""The model families the training pipeline may train: each declared ONCE, as one `Family`.

A family is its name, its estimator factory, its default grid, where its grid keys go inside the
pipeline, and which exact fast path the service's scorer takes for it (bentos/scorer.py). Every
candidate is `Pipeline([("encode", ChurnEncoder()), ("model", factory(seed))])`. Adding a family
is one `Family(...)` in `FAMILIES` below plus, if wanted, its grid in configs/training.yaml
(docs/ARCHITECTURE.md, "Add a model family"; tests/training/test_model_family.py adds a toy one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn.features import ChurnEncoder
from churn.training.engineered import EncodedInteractions

FastPath = Literal["linear", "trees", "lightgbm", "generic"]


@dataclass(frozen=True)
class Family:
    name: str
    factory: Callable[[int], BaseEstimator]
    """The untrained estimator for a seed (the pipeline's `model` step)."""
    default_grid: dict[str, list[Any]] = field(default_factory=dict)
    """Used when the run config names no grids; plain estimator parameter names."""
    param_prefix: str = "model__"
    """Where a grid key goes inside the pipeline (`model__clf__` behind an inner step)."""
    fast_path: FastPath = "generic"
    """The scorer's exact path for it (bentos/scorer.py `Scorer.kind`; checked by the serving
    tests): `generic` is `predict_proba` and occlusion explanations."""


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


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "logistic_regression",
            _logistic_regression,
            {"C": [0.03, 0.1, 0.3, 1.0]},
            param_prefix="model__clf__",  # the LR sits behind the interaction step
            fast_path="linear",
        ),
        Family(
            "random_forest",
            _random_forest,
            {
                "n_estimators": [100],
                "min_samples_leaf": [10, 20],
                "max_features": [0.3],
                "max_samples": [0.5],
            },
            fast_path="trees",
        ),
        Family(
            "hist_gradient_boosting",
            _hist_gradient_boosting,
            {
                "learning_rate": [0.05],
                "max_depth": [3],
                "max_iter": [150],
                "min_samples_leaf": [40],
            },
            fast_path="trees",
        ),
        Family(
            "lightgbm",
            _lightgbm,
            {
                "n_estimators": [300],
                "learning_rate": [0.02],
                "num_leaves": [8],
                "min_child_samples": [40],
            },
            fast_path="lightgbm",
        ),
    )
}
"""Every family, by name: the one declaration (the run config's grids, the search, the tests
and the benchmarks read it)."""


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown candidate {name!r}; known: {list(FAMILIES)}") from None


def build_pipeline(name: str, seed: int = 42) -> Pipeline:
    """The untrained pipeline of one candidate."""
    return Pipeline([("encode", ChurnEncoder()), ("model", family(name).factory(seed))])


def param_grid(name: str, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A config grid (plain estimator parameter names) as GridSearchCV parameter names."""
    prefix = family(name).param_prefix
    return {f"{prefix}{key}": list(values) for key, values in grid.items()}


def grids_for(configured: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
    """The candidates to train: those in the config, else all with the default grids."""
    if configured:
        return dict(configured)
    return {name: dict(f.default_grid) for name, f in FAMILIES.items()}


def strip_prefix(name: str, params: dict[str, Any]) -> dict[str, Any]:
    prefix = family(name).param_prefix
    return {k.removeprefix(prefix): v for k, v in params.items()}
