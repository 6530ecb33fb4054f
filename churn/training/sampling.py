"""Row caps for training at scale: which rows each stage of a run uses.

Model selection (the candidate searches, their out-of-fold figures, the threshold) runs on a
stratified sample of the training split (`search_sample_rows`); the chosen model is then fitted on
a stratified sample of the training split (the split model, measured on the test split) and of
every labelled row (the served model), both `refit_sample_rows`. The test metrics, their bootstrap
intervals and the promotion's paired bootstrap read one stratified sample of the test split
(`bootstrap_sample_rows`). The data quality report (Evidently) reads a random sample; the contract
check reads every row. A set no larger than its cap is used whole. `rows_by_stage` is what the
model card and MLflow record; each step also logs the rows it saw in its own metadata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from churn.schema import TARGET


def sample_size(rows: int, cap: int | None) -> int:
    """The rows a stage reads: all of them, or `cap` when there are more."""
    return rows if cap is None else min(rows, cap)


def stratified_sample(frame: pd.DataFrame, cap: int | None, seed: int) -> pd.DataFrame:
    """At most `cap` rows with the churn rate of `frame` (the same rows for the same seed).

    The whole frame when it is no larger than `cap`, so small runs are exactly as before.
    """
    size = sample_size(len(frame), cap)
    if size >= len(frame):
        return frame
    sample, _ = train_test_split(frame, train_size=size, stratify=frame[TARGET], random_state=seed)
    return sample.reset_index(drop=True)


def random_sample(frame: pd.DataFrame, cap: int | None, seed: int) -> pd.DataFrame:
    """At most `cap` rows drawn uniformly (for the data quality report: no label needed)."""
    size = sample_size(len(frame), cap)
    if size >= len(frame):
        return frame
    return frame.take(random_positions(len(frame), cap, seed)).reset_index(drop=True)


def random_positions(rows: int, cap: int | None, seed: int) -> np.ndarray:
    """The positions `random_sample` takes from `rows` rows (pandas' `sample` draw), so a file
    can be sampled without holding it."""
    size = sample_size(rows, cap)
    if size >= rows:
        return np.arange(rows)
    draw = np.random.RandomState(seed).choice(rows, size=size, replace=False)
    return np.asarray(draw, dtype=np.intp)


def stratified_positions(labels: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """The positions `stratified_sample` takes from a frame with these labels, in its order."""
    size = sample_size(len(labels), cap)
    if size >= len(labels):
        return np.arange(len(labels))
    taken, _ = stratified_draw(labels, size, len(labels) - size, seed)
    return taken


def _class_draws(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Rows of each class in a stratified draw: scikit-learn's approximate mode of the
    multivariate hypergeometric (`StratifiedShuffleSplit`), ties broken by `rng` as it does."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            add = min(len(tied), need)
            floored[rng.choice(tied, size=add, replace=False)] += 1
            need -= add
            if need == 0:
                break
    return floored.astype(int)


def stratified_draw(
    labels: np.ndarray, n_train: int, n_test: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The positions of `train_test_split(..., train_size=n_train, test_size=n_test,
    stratify=labels, random_state=seed)`, the same draws in the same order, gathered in arrays:
    scikit-learn gathers them in Python lists of numpy scalars, ~100 bytes a row (1.7 GB of peak
    at 10,000,000 labels, the only step of the split that grew with the base)."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2 or min(n_train, n_test) < len(classes):
        train, test = train_test_split(  # scikit-learn's own error for these
            np.arange(len(labels)),
            train_size=n_train,
            test_size=n_test,
            stratify=labels,
            random_state=seed,
        )
        return np.asarray(train), np.asarray(test)
    by_class = np.split(np.argsort(inverse.ravel(), kind="stable"), np.cumsum(counts)[:-1])
    del inverse
    rng = np.random.RandomState(seed)
    train_counts = _class_draws(counts, n_train, rng)
    test_counts = _class_draws(counts - train_counts, n_test, rng)
    train_parts, test_parts = [], []
    for k in range(len(classes)):
        rows = by_class[k].take(rng.permutation(counts[k]), mode="clip")
        train_parts.append(rows[: train_counts[k]])
        test_parts.append(rows[train_counts[k] : train_counts[k] + test_counts[k]])
    return (
        rng.permutation(np.concatenate(train_parts)),
        rng.permutation(np.concatenate(test_parts)),
    )


@dataclass(frozen=True)
class SplitPlan:
    """Which rows of a labelled file each stage reads, as positions in the file.

    The same rows, in the same order, as the split and the `stratified_sample` calls of each step
    would take from whole frames, but computed from the label column alone (1 byte a row), so the
    rows themselves are read only for the samples. `reference` is the split model's fit rows,
    `evaluation` the test rows that evaluation and the promotion's bootstrap read.
    """

    labelled: int
    train: int
    test: int
    train_churn_rate: float
    test_churn_rate: float
    search: np.ndarray
    reference: np.ndarray
    refit: np.ndarray
    evaluation: np.ndarray

    def counts(self) -> dict[str, int]:
        return {
            "labelled": self.labelled,
            "train": self.train,
            "test": self.test,
            "search": len(self.search),
            "split_model_fit": len(self.reference),
            "refit": len(self.refit),
            "evaluation": len(self.evaluation),
        }


def plan_split(
    labels: np.ndarray,
    *,
    test_size: float,
    seed: int,
    search_cap: int | None,
    refit_cap: int | None,
    bootstrap_cap: int | None,
) -> SplitPlan:
    """The stratified, seeded train/test split of `labels` and each stage's stratified sample."""
    n_test = math.ceil(test_size * len(labels))  # as train_test_split rounds a fraction
    train, test = stratified_draw(labels, len(labels) - n_test, n_test, seed)
    labelled = np.concatenate([train, test])  # the refit's rows: training part, then test part

    def sample(rows: np.ndarray, cap: int | None) -> np.ndarray:
        return rows[stratified_positions(labels[rows], cap, seed)]

    return SplitPlan(
        labelled=len(labels),
        train=len(train),
        test=len(test),
        train_churn_rate=float(labels[train].mean()),
        test_churn_rate=float(labels[test].mean()),
        search=sample(train, search_cap),
        reference=sample(train, refit_cap),
        refit=sample(labelled, refit_cap),
        evaluation=sample(test, bootstrap_cap),
    )


def rows_by_stage(
    *,
    labelled: int,
    train: int,
    test: int,
    quality_cap: int | None,
    search_cap: int | None,
    refit_cap: int | None = None,
    bootstrap_cap: int | None = None,
) -> dict[str, int]:
    """How many rows each stage of one training run used (the model card's `rows_by_stage`)."""
    return {
        "validation_contract": labelled,
        "validation_quality_report": sample_size(labelled, quality_cap),
        "model_selection": sample_size(train, search_cap),
        "threshold": sample_size(train, search_cap),
        "split_model_fit": sample_size(train, refit_cap),
        "test": test,
        "evaluation": sample_size(test, bootstrap_cap),
        "promotion_bootstrap": sample_size(test, bootstrap_cap),
        "refit": sample_size(labelled, refit_cap),
    }
