"""Evaluate the chosen model on the test split; metrics and plots to MLflow."""

from __future__ import annotations

import logging
from typing import Annotated

import mlflow
import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from churn.artifacts import TestMetrics
from churn.training.metrics import bootstrap_intervals, classification_metrics
from churn.training.search import features_and_target
from steps.train.plots import calibration_figure, confusion_figure, roc_figure

logger = logging.getLogger(__name__)


@step(experiment_tracker=True)
def evaluate(
    model: Pipeline, test_data: pd.DataFrame, threshold: float
) -> Annotated[TestMetrics, "test_metrics"]:
    X, y = features_and_target(test_data)
    proba = model.predict_proba(X)[:, 1]
    result = TestMetrics(
        **classification_metrics(y, proba, threshold), **bootstrap_intervals(y, proba)
    )
    metrics = result.as_floats()
    mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items()})
    for name, fig in (
        ("confusion_matrix.png", confusion_figure(y, proba, threshold)),
        ("roc_curve.png", roc_figure(y, proba, metrics["roc_auc"])),
        ("calibration.png", calibration_figure(y, proba)),
    ):
        mlflow.log_figure(fig, f"plots/{name}")
    log_metadata(metadata={"test_metrics": metrics})
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
