"""Grid search of one candidate by repeated stratified K-fold on the training split; OOF
predictions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from churn.schema import FEATURE_NAMES, TARGET
from churn.training.candidates import build_pipeline, param_grid, strip_prefix


@dataclass
class CandidateResult:
    name: str
    pipeline: Pipeline
    cv_roc_auc: float
    cv_roc_auc_std: float
    cv_fold_scores: list[float]
    cv_repeat_means: list[float]
    cv_brier: float
    cv_accuracy_at_0_5: float
    cv_accuracy_at_0_5_std: float
    best_params: dict[str, Any]
    fit_seconds: float
    search_seconds: float
    n_configs: int
    extra: dict[str, Any] = field(default_factory=dict)


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    return frame[list(FEATURE_NAMES)], frame[TARGET].to_numpy(dtype=np.int64)


def folds(cv_folds: int, seed: int) -> StratifiedKFold:
    return StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed)


def repeated_folds(cv_folds: int, cv_repeats: int, seed: int) -> RepeatedStratifiedKFold:
    return RepeatedStratifiedKFold(n_splits=cv_folds, n_repeats=cv_repeats, random_state=seed)


SCORING = {"roc_auc": "roc_auc", "brier": "neg_brier_score", "accuracy": "accuracy"}


def tune(
    name: str,
    grid: dict[str, list[Any]],
    train: pd.DataFrame,
    cv_folds: int,
    seed: int,
    cv_repeats: int = 1,
    n_jobs: int = 1,
) -> CandidateResult:
    """GridSearchCV by mean ROC-AUC over `cv_repeats` x `cv_folds` stratified folds of the training
    split (no single split decides), refit on all of it. Brier and accuracy at 0.5 ride along.

    Each fit is single-threaded: OpenMP in HistGradientBoosting spins badly on a shared, loaded
    machine. `n_jobs` fits run side by side in worker processes (joblib gives each one thread);
    the folds, seeds and so the figures are the same for any `n_jobs`.
    """
    X, y = features_and_target(train)
    search = GridSearchCV(
        build_pipeline(name, seed),
        param_grid(name, grid),
        scoring=SCORING,
        cv=repeated_folds(cv_folds, cv_repeats, seed),
        n_jobs=n_jobs,
        refit="roc_auc",
    )
    start = time.perf_counter()
    with threadpool_limits(1):
        search.fit(X, y)
    elapsed = time.perf_counter() - start
    best = search.best_index_
    results = search.cv_results_
    n_splits = cv_folds * cv_repeats
    fold_scores = [float(results[f"split{k}_test_roc_auc"][best]) for k in range(n_splits)]
    # RepeatedStratifiedKFold yields the folds of repeat 0 first, then repeat 1, ...
    repeat_means = [
        float(np.mean(fold_scores[r * cv_folds : (r + 1) * cv_folds])) for r in range(cv_repeats)
    ]
    return CandidateResult(
        name=name,
        pipeline=search.best_estimator_,
        cv_roc_auc=float(results["mean_test_roc_auc"][best]),
        cv_roc_auc_std=float(results["std_test_roc_auc"][best]),
        cv_fold_scores=fold_scores,
        cv_repeat_means=repeat_means,
        cv_brier=-float(results["mean_test_brier"][best]),
        cv_accuracy_at_0_5=float(results["mean_test_accuracy"][best]),
        cv_accuracy_at_0_5_std=float(results["std_test_accuracy"][best]),
        best_params=strip_prefix(name, search.best_params_),
        fit_seconds=float(search.refit_time_),
        search_seconds=elapsed,
        n_configs=len(results["params"]),
    )


def best_of(results: list[CandidateResult]) -> CandidateResult:
    """The candidate with the highest mean repeated-CV ROC-AUC (the test split plays no part)."""
    return max(results, key=lambda r: r.cv_roc_auc)


def refit_on_all(pipeline: Pipeline, labelled: pd.DataFrame) -> tuple[Pipeline, float]:
    """A fresh copy of `pipeline` (same hyperparameters) fitted on every labelled row; seconds."""
    X, y = features_and_target(labelled)
    full = clone(pipeline)
    start = time.perf_counter()
    with threadpool_limits(1):
        full.fit(X, y)
    return full, time.perf_counter() - start


def out_of_fold_proba(
    pipeline: Pipeline, train: pd.DataFrame, cv_folds: int, seed: int, n_jobs: int = 1
) -> np.ndarray:
    X, y = features_and_target(train)
    with threadpool_limits(1):
        proba = cross_val_predict(
            clone(pipeline),
            X,
            y,
            cv=folds(cv_folds, seed),
            method="predict_proba",
            n_jobs=n_jobs,
        )
    return np.asarray(proba[:, 1])
