"""Evaluate the chosen model on the test split (or a stratified sample of it, the same rows the
promotion's paired bootstrap resamples: `bootstrap_sample_rows`); metrics and plots to MLflow."""

from __future__ import annotations

import logging
from typing import Annotated

import mlflow
import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from churn.artifacts import TestMetrics
from churn.training.metrics import Progress, bootstrap_intervals, classification_metrics
from churn.training.sampling import stratified_sample
from churn.training.search import features_and_target
from steps.train.plots import calibration_figure, confusion_figure, roc_figure

logger = logging.getLogger(__name__)


def bootstrap_progress(step_name: str) -> Progress:
    """Logs "bootstrap i of n" (the step logs and the terminal) about every tenth of the way."""
    logged = [0]

    def log(done: int, total: int) -> None:
        if done == total or done - logged[0] >= total / 10:
            logged[0] = done
            logger.info("%s: bootstrap %d of %d", step_name, done, total)

    return log


@step(experiment_tracker=True)
def evaluate(
    model: Pipeline,
    test_data: pd.DataFrame,
    threshold: float,
    split_rows: dict[str, int],
    bootstrap_sample_rows: int | None = None,
    seed: int = 42,
) -> Annotated[TestMetrics, "test_metrics"]:
    sample = stratified_sample(test_data, bootstrap_sample_rows, seed)
    logger.info("evaluate: %d of the %d test rows", len(sample), split_rows["test"])
    X, y = features_and_target(sample)
    proba = model.predict_proba(X)[:, 1]
    intervals = bootstrap_intervals(y, proba, progress=bootstrap_progress("evaluate"))
    result = TestMetrics(**classification_metrics(y, proba, threshold), **intervals)
    metrics = result.as_floats()
    mlflow.log_param("bootstrap_sample_rows", bootstrap_sample_rows)
    mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items()})
    mlflow.log_metric("rows_evaluation", len(sample))
    for name, fig in (
        ("confusion_matrix.png", confusion_figure(y, proba, threshold)),
        ("roc_curve.png", roc_figure(y, proba, metrics["roc_auc"])),
        ("calibration.png", calibration_figure(y, proba)),
    ):
        mlflow.log_figure(fig, f"plots/{name}")
    log_metadata(
        metadata={
            "test_metrics": metrics,
            "test_rows": split_rows["test"],
            "evaluation_rows": len(sample),
        }
    )
    logger.info(
        "test: ROC-AUC %.4f (95%% bootstrap %.3f-%.3f), PR-AUC %.4f, accuracy %.4f at %.2f "
        "(%.4f at 0.5, 95%% %.3f-%.3f), F1 %.4f",
        metrics["roc_auc"],
        metrics["roc_auc_ci_low"],
        metrics["roc_auc_ci_high"],
        metrics["pr_auc"],
        metrics["accuracy"],
        threshold,
        metrics["accuracy_at_0_5"],
        metrics["accuracy_at_0_5_ci_low"],
        metrics["accuracy_at_0_5_ci_high"],
        metrics["f1"],
    )
    return result
