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
    return frame.sample(n=size, random_state=seed).reset_index(drop=True)


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
