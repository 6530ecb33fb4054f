"""Refit the chosen candidate, with its chosen hyperparameters, on every labelled row.

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
from churn.training.sampling import rows_by_stage
from churn.training.search import features_and_target, refit_on_all
from steps.train.tracking import log_pipeline

logger = logging.getLogger(__name__)


@step(experiment_tracker=True)
def refit(
    split_model: Pipeline,
    reference_data: pd.DataFrame,
    test_data: pd.DataFrame,
    search_sample_rows: int | None = None,
    quality_sample_rows: int | None = None,
) -> tuple[Annotated[Pipeline, "churn_model"], Annotated[RefitSummary, "refit_summary"]]:
    labelled = pd.concat([reference_data, test_data], ignore_index=True)
    model, seconds = refit_on_all(split_model, labelled)
    X, y = features_and_target(labelled)
    proba = model.predict_proba(X)[:, 1]
    X_test, _ = features_and_target(test_data)
    moved = np.abs(model.predict_proba(X_test)[:, 1] - split_model.predict_proba(X_test)[:, 1])
    summary = RefitSummary(
        refit_on_all_rows=True,
        rows=len(labelled),
        split_model_rows=len(reference_data),
        fit_seconds=seconds,
        # In-sample: the refit model has no held-out rows left; the test figures are the split
        # model's and measure the procedure.
        in_sample_roc_auc=float(roc_auc_score(y, proba)),
        in_sample_brier=float(brier_score_loss(y, proba)),
        test_rows_mean_abs_change=float(moved.mean()),
        test_rows_max_abs_change=float(moved.max()),
        model_uri=log_pipeline(model, labelled),
        rows_by_stage=rows_by_stage(
            labelled=len(labelled),
            train=len(reference_data),
            test=len(test_data),
            quality_cap=quality_sample_rows,
            search_cap=search_sample_rows,
        ),
        search_sample_rows=search_sample_rows,
        quality_sample_rows=quality_sample_rows,
    )
    mlflow.log_metrics({f"refit_{k}": v for k, v in summary.figures().items()})
    mlflow.log_metrics({f"rows_{k}": v for k, v in summary.rows_by_stage.items()})
    mlflow.log_params(
        {"search_sample_rows": search_sample_rows, "quality_sample_rows": quality_sample_rows}
    )
    log_metadata(metadata={"refit": summary.as_json(), "rows_by_stage": summary.rows_by_stage})
    logger.info(
        "refit on all %d labelled rows in %.2f s (split model: %d rows); probabilities on the "
        "test rows moved by %.4f on average",
        len(labelled),
        seconds,
        len(reference_data),
        summary.test_rows_mean_abs_change,
    )
    return model, summary
