"""The training pipeline: ingest -> validate -> split -> train candidates -> threshold -> evaluate
-> refit on the labelled rows -> promote -> package. Each stage's rows are capped in the run
config (`search_sample_rows`, `refit_sample_rows`, `bootstrap_sample_rows`,
`quality_sample_rows`: stratified samples; a set below its cap is used whole), so time and memory
stay bounded as the customer base grows (docs/training.md "Row caps"). `validate` writes the
valid rows to one compact Parquet file a chunk at a time; `split` plans every sample from its
label column and reads only the sampled rows: no step after ingest holds the whole base.

Run it with `make train` / `churn train` (which validate the run config strictly first), or
`zenml pipeline run pipelines.training.training_pipeline -c configs/training.yaml`.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from zenml import Model, pipeline
from zenml.enums import StackComponentType

from churn.paths import REPO_ROOT
from churn.settings import get_settings, load_settings
from churn.training.config import load_run_config, validate_params

DEFAULT_CONFIG = REPO_ROOT / "configs" / "training.yaml"
DECLARED = load_settings(env_file=False)
"""What ZenML's decorator needs (model name, MLflow experiment, default data), from the process
environment only, like the service's declaration: importing this module reads no file."""


@pipeline(
    model=Model(
        name=DECLARED.model_name,
        version=None,
        description="Telco customer churn classifier (ZenML is the source of truth for stages)",
        tags=["churn"],
    ),
    enable_cache=False,
    settings={"experiment_tracker.mlflow": {"experiment_name": DECLARED.mlflow_experiment}},
)
def training_pipeline(
    data_path: str = str(DECLARED.default_data),
    test_size: float = 0.2,
    seed: int = 42,
    cv_folds: int = 5,
    cv_repeats: int = 3,
    offer_cost: float = 50.0,
    saved_customer_value: float = 150.0,
    grids: dict[str, dict[str, list[Any]]] | None = None,
    promotion: dict[str, float] | None = None,
    quality_floor: dict[str, float] | None = None,
    search_sample_rows: int | None = None,
    quality_sample_rows: int | None = None,
    feature_store_labels: str | None = None,
    refit_sample_rows: int | None = None,
    bootstrap_sample_rows: int | None = None,
    search_jobs: int = 1,
) -> None:
    from steps.data.ingest import ingest
    from steps.data.split import split
    from steps.data.validate import validate
    from steps.package.bento import package
    from steps.promote.promote import promote
    from steps.train.candidates import train_candidates
    from steps.train.evaluate import evaluate
    from steps.train.refit import refit
    from steps.train.threshold import select_threshold

    # The check at pipeline start: the same strict model the config loader uses.
    params = validate_params(
        {
            "data_path": data_path,
            "test_size": test_size,
            "seed": seed,
            "cv_folds": cv_folds,
            "cv_repeats": cv_repeats,
            "offer_cost": offer_cost,
            "saved_customer_value": saved_customer_value,
            "grids": grids or {},
            "promotion": promotion or {},
            "quality_floor": quality_floor or {},
            "search_sample_rows": search_sample_rows,
            "quality_sample_rows": quality_sample_rows,
            "feature_store_labels": feature_store_labels,
            "refit_sample_rows": refit_sample_rows,
            "bootstrap_sample_rows": bootstrap_sample_rows,
            "search_jobs": search_jobs,
        }
    )
    data_source: Any = params.data_path
    if params.feature_store_labels:  # the data set from the feature store, point in time
        from steps.data.training_set import training_set_from_store

        data_source = training_set_from_store(labels_path=params.feature_store_labels)
    data_file, data_md5 = ingest(data_path=data_source)
    customers = validate(
        data_file, quality_sample_rows=params.quality_sample_rows, seed=params.seed
    )
    # Each stage's capped sample, read from the compact file: no step after holds the base.
    reference_data, test_data, search_data, refit_data, split_rows = split(
        customers,
        test_size=params.test_size,
        seed=params.seed,
        search_sample_rows=params.search_sample_rows,
        refit_sample_rows=params.refit_sample_rows,
        bootstrap_sample_rows=params.bootstrap_sample_rows,
    )
    # Both searches cross-validate alike: the same folds, seed and sample of the split.
    search: dict[str, Any] = {
        "cv_folds": params.cv_folds,
        "seed": params.seed,
        "search_sample_rows": params.search_sample_rows,
        "search_jobs": params.search_jobs,
    }
    split_model, candidates = train_candidates(
        search_data,
        reference_data,
        split_rows,
        grids=params.grids,
        cv_repeats=params.cv_repeats,
        refit_sample_rows=params.refit_sample_rows,
        **search,
    )
    threshold = select_threshold(
        split_model,
        search_data,
        offer_cost=params.offer_cost,
        saved_customer_value=params.saved_customer_value,
        **search,
    )
    # Evaluation and the promotion's paired bootstrap read the same sample of the test split.
    bootstrap: dict[str, Any] = {
        "bootstrap_sample_rows": params.bootstrap_sample_rows,
        "seed": params.seed,
    }
    test_metrics = evaluate(split_model, test_data, threshold, split_rows, **bootstrap)
    # The served model: the same candidate and hyperparameters, fitted on the labelled rows.
    model, refit_summary = refit(
        split_model,
        refit_data,
        test_data,
        split_rows,
        search_sample_rows=params.search_sample_rows,
        quality_sample_rows=params.quality_sample_rows,
        refit_sample_rows=params.refit_sample_rows,
        **bootstrap,
    )
    promoted, model_card, bento_model = promote(
        split_model,
        model,
        test_data,
        test_metrics,
        candidates,
        threshold,
        data_md5,
        refit_summary,
        promotion=params.promotion,
        quality_floor=params.quality_floor,
        **bootstrap,
    )
    package(model_card, promoted, bento_model)


class TrainingFailed(RuntimeError):
    """A step failed; the message names the step and its error (e.g. the data problems)."""


def failure_summary(started_after: Any) -> str:
    """The failed steps of the latest training run, with their error messages."""
    from zenml.client import Client

    runs = Client().list_pipeline_runs(
        pipeline_name="training_pipeline", sort_by="desc:created", size=1
    )
    if not runs.items or runs.items[0].created < started_after:
        return "the pipeline did not start"
    run = runs.items[0]
    lines = [f"pipeline run {run.name} failed:"]
    for name, step_run in run.steps.items():
        if str(getattr(step_run.status, "value", step_run.status)) == "failed":
            info = step_run.exception_info
            message = info.message if info and info.message else "see the step logs"
            lines.append(f"step {name}: {message}")
    return "\n".join(lines)


def run_training(
    config_path: str | Path = DEFAULT_CONFIG, data_path: str | Path | None = None
) -> Any:
    """Validate the run config strictly, then run the pipeline; returns the pipeline run.

    Raises `ConfigError` for a bad config and `TrainingFailed` naming the failed step and why.
    """
    config = load_run_config(config_path)
    if data_path is not None:
        config.parameters = validate_params(
            {**config.parameters.model_dump(), "data_path": str(data_path)}
        )
    check_stack()
    prepare_mlflow_experiment()
    with tempfile.TemporaryDirectory(prefix="churn-train-") as tmp:
        resolved = Path(tmp) / "run_config.yaml"
        resolved.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_none=True)))
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=5)
        try:
            run = training_pipeline.with_options(config_path=str(resolved))()
        except Exception as exc:
            raise TrainingFailed(failure_summary(started)) from exc
    if run is not None and str(getattr(run.status, "value", run.status)) != "completed":
        raise TrainingFailed(failure_summary(started))
    return run


def check_stack() -> None:
    """The steps log to the stack's MLflow experiment tracker: say how to get one if missing."""
    from zenml.client import Client

    stack = Client().active_stack_model
    if not stack.components.get(StackComponentType.EXPERIMENT_TRACKER):
        raise TrainingFailed(
            f"the active ZenML stack {stack.name!r} has no experiment tracker; apply the local "
            "stack first: `make stack-local` (churn stack apply local)"
        )


def active_tracking_uri() -> str:
    """The tracking URI of the active stack's MLflow experiment tracker (settings as fallback)."""
    from zenml.client import Client

    tracker = Client().active_stack.experiment_tracker
    get_uri = getattr(tracker, "get_tracking_uri", None)
    return str(get_uri()) if callable(get_uri) else get_settings().mlflow_tracking_uri


def prepare_mlflow_experiment() -> None:
    """For a SQLite tracking store, create the experiment with its artifacts beside the database.

    Otherwise MLflow puts artifacts under ./mlruns of whatever the working directory is. A tracking
    server (the staging stack) places artifacts itself: nothing to prepare.
    """
    uri = active_tracking_uri()
    if not uri.startswith("sqlite:///"):
        return
    import mlflow

    experiment = get_settings().mlflow_experiment
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        db = Path(uri.removeprefix("sqlite:///"))
        location = (db.parent / "mlartifacts").resolve().as_uri()
        mlflow.create_experiment(experiment, artifact_location=location)
