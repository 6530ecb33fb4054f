"""Grid search of one candidate on the training split, and out-of-fold predictions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
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
    best_params: dict[str, Any]
    fit_seconds: float
    search_seconds: float
    n_configs: int
    extra: dict[str, Any] = field(default_factory=dict)


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    return frame[list(FEATURE_NAMES)], frame[TARGET].to_numpy(dtype=np.int64)


def folds(cv_folds: int, seed: int) -> StratifiedKFold:
    return StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed)


def tune(
    name: str, grid: dict[str, list[Any]], train: pd.DataFrame, cv_folds: int, seed: int
) -> CandidateResult:
    """GridSearchCV (ROC-AUC, stratified folds of the training split), refit on all of it.

    Runs single-threaded: OpenMP in HistGradientBoosting spins badly on a shared, loaded machine.
    """
    X, y = features_and_target(train)
    search = GridSearchCV(
        build_pipeline(name, seed),
        param_grid(name, grid),
        scoring="roc_auc",
        cv=folds(cv_folds, seed),
        n_jobs=1,
        refit=True,
    )
    start = time.perf_counter()
    with threadpool_limits(1):
        search.fit(X, y)
    elapsed = time.perf_counter() - start
    best = search.best_index_
    results = search.cv_results_
    fold_scores = [float(results[f"split{k}_test_score"][best]) for k in range(cv_folds)]
    return CandidateResult(
        name=name,
        pipeline=search.best_estimator_,
        cv_roc_auc=float(results["mean_test_score"][best]),
        cv_roc_auc_std=float(results["std_test_score"][best]),
        cv_fold_scores=fold_scores,
        best_params=strip_prefix(name, search.best_params_),
        fit_seconds=float(search.refit_time_),
        search_seconds=elapsed,
        n_configs=len(results["params"]),
    )


def best_of(results: list[CandidateResult]) -> CandidateResult:
    """The candidate with the highest CV ROC-AUC (the test split plays no part)."""
    return max(results, key=lambda r: r.cv_roc_auc)


def out_of_fold_proba(
    pipeline: Pipeline, train: pd.DataFrame, cv_folds: int, seed: int
) -> np.ndarray:
    X, y = features_and_target(train)
    with threadpool_limits(1):
        proba = cross_val_predict(
            clone(pipeline), X, y, cv=folds(cv_folds, seed), method="predict_proba"
        )
    return np.asarray(proba[:, 1])
