"""Choose the business threshold on out-of-fold predictions of the training split."""

from __future__ import annotations

import logging
from typing import Annotated

import mlflow
import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from churn.schema import TARGET
from churn.training.sampling import stratified_sample
from churn.training.search import out_of_fold_proba
from churn.training.threshold import choose_threshold

logger = logging.getLogger(__name__)


@step(experiment_tracker=True)
def select_threshold(
    model: Pipeline,
    search_data: pd.DataFrame,
    cv_folds: int,
    seed: int,
    offer_cost: float,
    saved_customer_value: float,
    search_sample_rows: int | None = None,
    search_jobs: int = 1,
) -> Annotated[float, "threshold"]:
    """Maximise expected retention value; the test split is not looked at. Out-of-fold on the
    rows model selection used (the same stratified sample of the training split)."""
    sample = stratified_sample(search_data, search_sample_rows, seed)
    proba = out_of_fold_proba(model, sample, cv_folds, seed, search_jobs)
    choice = choose_threshold(sample[TARGET].to_numpy(), proba, offer_cost, saved_customer_value)
    mlflow.log_params({"offer_cost": offer_cost, "saved_customer_value": saved_customer_value})
    mlflow.log_metrics(
        {
            "threshold": choice.threshold,
            "oof_value_per_customer": choice.value_per_customer,
            "oof_contacted_share": choice.contacted_share,
            "rows_threshold": len(sample),
        }
    )
    log_metadata(
        metadata={
            "threshold": choice.threshold,
            "oof_expected_value": choice.expected_value,
            "oof_value_per_customer": choice.value_per_customer,
        }
    )
    logger.info(
        "threshold %.2f: expected value %.2f per customer, contacting %.1f%%",
        choice.threshold,
        choice.value_per_customer,
        100 * choice.contacted_share,
    )
    return choice.threshold
