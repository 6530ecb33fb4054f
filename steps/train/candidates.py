"""Train the candidates: GridSearchCV each on the training split, one nested MLflow run each."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import mlflow
import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from churn.training.candidates import grids_for
from churn.training.search import CandidateResult, best_of, tune
from steps.train.tracking import flat_params, log_pipeline

logger = logging.getLogger(__name__)


def _log_candidate(
    result: CandidateResult, grid: dict[str, list[Any]], sample: pd.DataFrame
) -> dict:
    with mlflow.start_run(run_name=result.name, nested=True) as run:
        mlflow.set_tag("candidate", result.name)
        mlflow.log_params(flat_params({f"grid.{k}": v for k, v in grid.items()}))
        mlflow.log_params(flat_params(result.best_params))
        mlflow.log_metrics(
            {
                "cv_roc_auc": result.cv_roc_auc,
                "cv_roc_auc_std": result.cv_roc_auc_std,
                "fit_seconds": result.fit_seconds,
                "search_seconds": result.search_seconds,
                "n_configs": result.n_configs,
            }
        )
        for fold, score in enumerate(result.cv_fold_scores):
            mlflow.log_metric("cv_fold_roc_auc", score, step=fold)
        model_uri = log_pipeline(result.pipeline, sample)
    return {
        "name": result.name,
        "cv_roc_auc": result.cv_roc_auc,
        "cv_roc_auc_std": result.cv_roc_auc_std,
        "fit_seconds": result.fit_seconds,
        "search_seconds": result.search_seconds,
        "best_params": result.best_params,
        "mlflow_run_id": run.info.run_id,
        "model_uri": model_uri,
    }


@step(experiment_tracker=True)
def train_candidates(
    reference_data: pd.DataFrame,
    grids: dict[str, dict[str, list[Any]]],
    cv_folds: int,
    seed: int,
) -> tuple[Annotated[Pipeline, "churn_model"], Annotated[dict, "candidates"]]:
    """The best candidate by CV ROC-AUC (never the test split), and every candidate's scores."""
    summaries = []
    results = []
    for name, grid in grids_for(grids).items():
        result = tune(name, grid, reference_data, cv_folds, seed)
        logger.info(
            "candidate %s: CV ROC-AUC %.4f ± %.4f, best %s, search %.1f s",
            name,
            result.cv_roc_auc,
            result.cv_roc_auc_std,
            result.best_params,
            result.search_seconds,
        )
        results.append(result)
        summaries.append(_log_candidate(result, grid, reference_data))
    best = best_of(results)
    chosen = next(s for s in summaries if s["name"] == best.name)
    mlflow.set_tag("chosen_candidate", best.name)
    mlflow.log_metric("best_cv_roc_auc", best.cv_roc_auc)
    log_metadata(
        metadata={
            "chosen": best.name,
            "cv_roc_auc": {s["name"]: s["cv_roc_auc"] for s in summaries},
            "search_seconds": {s["name"]: s["search_seconds"] for s in summaries},
        }
    )
    logger.info("chosen: %s (CV ROC-AUC %.4f)", best.name, best.cv_roc_auc)
    return best.pipeline, {"chosen": chosen, "candidates": summaries}
