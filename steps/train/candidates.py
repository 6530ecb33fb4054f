"""Train the candidates: GridSearchCV by repeated stratified K-fold on the training split (or a
stratified sample of it: `search_sample_rows`, `search_data` from the split), one nested MLflow
run each with the spread, the Brier score and an out-of-fold reliability plot. The chosen one is
then fitted on the training split (or a stratified sample of it: `refit_sample_rows`,
`reference_data`): that split model is what the test split measures."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import mlflow
import pandas as pd
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from churn.artifacts import Candidates, CandidateSummary
from churn.schema import TARGET
from churn.training.candidates import grids_for
from churn.training.metrics import reliability_points
from churn.training.sampling import stratified_sample
from churn.training.search import CandidateResult, best_of, out_of_fold_proba, refit_on_all, tune
from steps.train.plots import calibration_figure
from steps.train.tracking import flat_params, log_pipeline

logger = logging.getLogger(__name__)


def _log_candidate(
    result: CandidateResult,
    grid: dict[str, list[Any]],
    sample: pd.DataFrame,
    cv_folds: int,
    cv_repeats: int,
    seed: int,
    n_jobs: int = 1,
) -> CandidateSummary:
    # Out-of-fold probabilities of the chosen setting: the candidate's calibration, never the test.
    oof = out_of_fold_proba(result.pipeline, sample, cv_folds, seed, n_jobs)
    y = sample[TARGET].to_numpy()
    oof_brier = float(brier_score_loss(y, oof))
    repeat_spread = float(pd.Series(result.cv_repeat_means).std(ddof=0))
    with mlflow.start_run(run_name=result.name, nested=True) as run:
        mlflow.set_tag("candidate", result.name)
        mlflow.log_params(flat_params({f"grid.{k}": v for k, v in grid.items()}))
        mlflow.log_params(flat_params(result.best_params))
        mlflow.log_params({"cv_folds": cv_folds, "cv_repeats": cv_repeats, "search_jobs": n_jobs})
        mlflow.log_metrics(
            {
                "cv_roc_auc": result.cv_roc_auc,
                "cv_roc_auc_std": result.cv_roc_auc_std,
                "cv_roc_auc_repeat_std": repeat_spread,
                "cv_brier": result.cv_brier,
                "cv_accuracy_at_0_5": result.cv_accuracy_at_0_5,
                "cv_accuracy_at_0_5_std": result.cv_accuracy_at_0_5_std,
                "oof_brier": oof_brier,
                "fit_seconds": result.fit_seconds,
                "search_seconds": result.search_seconds,
                "n_configs": result.n_configs,
            }
        )
        for fold, score in enumerate(result.cv_fold_scores):
            mlflow.log_metric("cv_fold_roc_auc", score, step=fold)
        for repeat, score in enumerate(result.cv_repeat_means):
            mlflow.log_metric("cv_repeat_roc_auc", score, step=repeat)
        fig = calibration_figure(y, oof, title=f"{result.name}: out-of-fold reliability")
        mlflow.log_figure(fig, "plots/reliability.png")
        model_uri = log_pipeline(result.pipeline, sample)
    return CandidateSummary(
        name=result.name,
        cv_roc_auc=result.cv_roc_auc,
        cv_roc_auc_std=result.cv_roc_auc_std,
        cv_roc_auc_repeat_std=repeat_spread,
        cv_brier=result.cv_brier,
        cv_accuracy_at_0_5=result.cv_accuracy_at_0_5,
        oof_brier=oof_brier,
        reliability=reliability_points(y, oof),
        fit_seconds=result.fit_seconds,
        search_seconds=result.search_seconds,
        best_params=result.best_params,
        mlflow_run_id=run.info.run_id,
        model_uri=model_uri,
    )


@step(experiment_tracker=True)
def train_candidates(
    search_data: pd.DataFrame,
    reference_data: pd.DataFrame,
    split_rows: dict[str, int],
    grids: dict[str, dict[str, list[Any]]],
    cv_folds: int,
    seed: int,
    cv_repeats: int = 1,
    search_sample_rows: int | None = None,
    refit_sample_rows: int | None = None,
    search_jobs: int = 1,
) -> tuple[Annotated[Pipeline, "split_model"], Annotated[Candidates, "candidates"]]:
    """The best candidate by repeated-CV ROC-AUC (never the test split), fitted on the training
    split's fit rows (the "split model"), and every candidate's scores. The split already took
    each sample; sampling again is a no-op kept for data given whole (a run of the step alone)."""
    sample = stratified_sample(search_data, search_sample_rows, seed)
    summaries: list[CandidateSummary] = []
    results = []
    chosen_grids = grids_for(grids)
    for n, (name, grid) in enumerate(chosen_grids.items(), start=1):
        logger.info(
            "candidate %d of %d: %s, searching %d settings on %d rows",
            n,
            len(chosen_grids),
            name,
            len(list(ParameterGrid(grid))),
            len(sample),
        )
        result = tune(name, grid, sample, cv_folds, seed, cv_repeats, n_jobs=search_jobs)
        logger.info(
            "candidate %d of %d: %s: CV ROC-AUC %.4f ± %.4f, best %s, search %.1f s",
            n,
            len(chosen_grids),
            name,
            result.cv_roc_auc,
            result.cv_roc_auc_std,
            result.best_params,
            result.search_seconds,
        )
        results.append(result)
        summaries.append(
            _log_candidate(result, grid, sample, cv_folds, cv_repeats, seed, search_jobs)
        )
    best = best_of(results)
    chosen = next(s for s in summaries if s.name == best.name)
    fit_rows = stratified_sample(reference_data, refit_sample_rows, seed)
    split_model, split_seconds = best.pipeline, best.fit_seconds
    if len(sample) != len(fit_rows):  # selected on another sample: fit on the split model's rows
        logger.info("fitting the chosen %s on %d training rows", best.name, len(fit_rows))
        split_model, split_seconds = refit_on_all(best.pipeline, fit_rows)
    mlflow.set_tag("chosen_candidate", best.name)
    mlflow.log_params(
        {"search_sample_rows": search_sample_rows, "refit_sample_rows": refit_sample_rows}
    )
    mlflow.log_metrics(
        {
            "best_cv_roc_auc": best.cv_roc_auc,
            "rows_model_selection": len(sample),
            "rows_split_model_fit": len(fit_rows),
            "split_model_fit_seconds": split_seconds,
        }
    )
    log_metadata(
        metadata={
            "chosen": best.name,
            "cv_roc_auc": {s.name: s.cv_roc_auc for s in summaries},
            "cv_roc_auc_std": {s.name: s.cv_roc_auc_std for s in summaries},
            "cv_brier": {s.name: s.cv_brier for s in summaries},
            "search_seconds": {s.name: s.search_seconds for s in summaries},
            "training_rows": split_rows["train"],
            "search_rows": len(sample),
            "split_model_rows": len(fit_rows),
            "split_model_fit_seconds": split_seconds,
        }
    )
    logger.info(
        "chosen: %s (CV ROC-AUC %.4f on %d of %d training rows); fitted on %d in %.1f s",
        best.name,
        best.cv_roc_auc,
        len(sample),
        split_rows["train"],
        len(fit_rows),
        split_seconds,
    )
    return split_model, Candidates(chosen=chosen, candidates=summaries, search_rows=len(sample))
