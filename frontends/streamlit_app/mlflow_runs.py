"""The latest candidate runs from MLflow, when a tracking store is configured and reachable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

MAX_RUNS = 20


def tracking_uri() -> str | None:
    """The configured tracking URI; None when unset or when its local SQLite file does not exist."""
    from churn.settings import Settings

    settings = Settings()
    uri = settings.mlflow_tracking_uri
    explicit = "mlflow_tracking_uri" in settings.model_fields_set
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        return uri if path.is_file() else None
    return uri if explicit else None


def latest_runs(uri: str, experiment: str) -> pd.DataFrame:
    """Latest finished runs of `experiment`: run name, start time and every logged metric."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(
        experiment_names=[experiment],
        max_results=MAX_RUNS,
        order_by=["attributes.start_time DESC"],
        output_format="pandas",
    )
    if not isinstance(runs, pd.DataFrame) or runs.empty:
        return pd.DataFrame()
    keep = ["run_id", "tags.mlflow.runName", "start_time", "status"]
    metric_cols = [c for c in runs.columns if c.startswith("metrics.")]
    table = runs[[c for c in keep if c in runs.columns] + metric_cols]
    return table.rename(columns=lambda c: c.removeprefix("metrics.").removeprefix("tags.mlflow."))
