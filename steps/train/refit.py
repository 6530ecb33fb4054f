"""Refit the chosen candidate, with its chosen hyperparameters, on every labelled row (or a
stratified sample of them: `refit_sample_rows`, `refit_data` from the split).

The split model (training part only) was measured on the test split: those figures measure the
procedure. The refit model is what gets packaged and served; the split model is kept as the
artifact `split_model` for the paired comparison of the next run.
"""

from __future__ import annotations

import logging
from typing import Annotated

import mlflow
import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from churn.artifacts import RefitSummary
from churn.training.sampling import rows_by_stage, stratified_sample
from churn.training.search import features_and_target, refit_on_all
from steps.train.tracking import log_pipeline

logger = logging.getLogger(__name__)


@step(experiment_tracker=True)
def refit(
    split_model: Pipeline,
    refit_data: pd.DataFrame,
    test_data: pd.DataFrame,
    split_rows: dict[str, int],
    search_sample_rows: int | None = None,
    quality_sample_rows: int | None = None,
    refit_sample_rows: int | None = None,
    bootstrap_sample_rows: int | None = None,
    seed: int = 42,
) -> tuple[Annotated[Pipeline, "churn_model"], Annotated[RefitSummary, "refit_summary"]]:
    labelled = split_rows["labelled"]
    fit_rows = stratified_sample(refit_data, refit_sample_rows, seed)  # the split's sample
    logger.info("refit on %d of the %d labelled rows", len(fit_rows), labelled)
    model, seconds = refit_on_all(split_model, fit_rows)
    X, y = features_and_target(fit_rows)
    proba = model.predict_proba(X)[:, 1]
    X_test, _ = features_and_target(stratified_sample(test_data, bootstrap_sample_rows, seed))
    moved = np.abs(model.predict_proba(X_test)[:, 1] - split_model.predict_proba(X_test)[:, 1])
    stages = rows_by_stage(
        labelled=labelled,
        train=split_rows["train"],
        test=split_rows["test"],
        quality_cap=quality_sample_rows,
        search_cap=search_sample_rows,
        refit_cap=refit_sample_rows,
        bootstrap_cap=bootstrap_sample_rows,
    )
    summary = RefitSummary(
        refit_on_all_rows=len(fit_rows) == labelled,
        rows=labelled,
        split_model_rows=stages["split_model_fit"],
        fit_seconds=seconds,
        # In-sample: the refit model has no held-out rows left; the test figures are the split
        # model's and measure the procedure.
        in_sample_roc_auc=float(roc_auc_score(y, proba)),
        in_sample_brier=float(brier_score_loss(y, proba)),
        test_rows_mean_abs_change=float(moved.mean()),
        test_rows_max_abs_change=float(moved.max()),
        model_uri=log_pipeline(model, fit_rows),
        rows_by_stage=stages,
        search_sample_rows=search_sample_rows,
        quality_sample_rows=quality_sample_rows,
        refit_sample_rows=refit_sample_rows,
        bootstrap_sample_rows=bootstrap_sample_rows,
    )
    mlflow.log_metrics({f"refit_{k}": v for k, v in summary.figures().items()})
    mlflow.log_metrics({f"rows_{k}": v for k, v in summary.rows_by_stage.items()})
    mlflow.log_params(
        {
            "search_sample_rows": search_sample_rows,
            "quality_sample_rows": quality_sample_rows,
            "refit_sample_rows": refit_sample_rows,
            "bootstrap_sample_rows": bootstrap_sample_rows,
        }
    )
    log_metadata(
        metadata={
            "refit": summary.as_json(),
            "rows_by_stage": summary.rows_by_stage,
            "labelled_rows": labelled,
            "refit_rows": len(fit_rows),
        }
    )
    logger.info(
        "refit on %d of %d labelled rows in %.2f s (split model: %d rows); probabilities on %d "
        "test rows moved by %.4f on average",
        len(fit_rows),
        labelled,
        seconds,
        summary.split_model_rows,
        len(X_test),
        summary.test_rows_mean_abs_change,
    )
    return model, summary
