"""Steps that fetch the two sides of the comparison."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step

from churn.monitoring.config import parse_config
from churn.monitoring.stattests import PREDICTION_COLUMN as PREDICTION
from churn.monitoring.window import OPTIONAL_COLUMNS, read_window_sample
from churn.settings import get_settings
from steps.monitoring.production import (
    churn_probability,
    production_model,
    production_version,
    reference_data,
)


@step(enable_cache=False)
def load_reference(
    config: dict[str, Any],
) -> tuple[Annotated[pd.DataFrame, "drift_reference"], Annotated[str, "production_version"]]:
    """The production version's training split, with that model's churn probability on it.

    The reference probabilities come from the production model scoring its own reference data,
    not from older service logs: they exist from the first deployment on, and they describe
    the model on the distribution it was trained for, which is what drift is measured against.
    """
    cfg = parse_config(config)
    version = production_version(cfg)
    frame = reference_data(version, cfg)
    model = production_model(version, cfg)
    if model is not None and cfg.check_prediction_drift:
        frame[PREDICTION] = churn_probability(model, frame)
    log_metadata(
        metadata={
            "production_version": str(version.name),
            "reference_rows": len(frame),
            "reference_predictions": PREDICTION in frame.columns,
        }
    )
    return frame, str(version.name)


@step(enable_cache=False)
def load_live_window(
    config: dict[str, Any], production_version_name: str
) -> tuple[Annotated[pd.DataFrame, "live_window"], Annotated[int, "window_rows"]]:
    """The last rows of the prediction log, with a `prediction` column from the production model,
    and how many rows the window held: a window larger than `live_sample_rows` is compared
    through a seeded uniform sample of that many rows.

    Rows the production version served keep the probability the service logged (what customers
    actually got); rows served by an older version are re-scored with the production model so both
    sides of the prediction-drift test come from the same model.
    """
    cfg = parse_config(config)
    read = read_window_sample(
        cfg.prediction_db or get_settings().prediction_db,
        cfg.window_rows,
        cfg.window_hours,
        sample_rows=cfg.live_sample_rows,
        seed=cfg.seed,
    )
    # the drift check needs no customer: the window becomes an artifact kept in the artifact
    # store, out of reach of `churn privacy erase` and `purge`, so it holds no customer key
    window = read.frame.drop(columns=list(OPTIONAL_COLUMNS), errors="ignore")
    window[PREDICTION] = window["churn_probability"]
    other = window["model_version"] != production_version_name
    if cfg.check_prediction_drift and other.any():
        model = production_model(production_version(cfg), cfg)
        if model is not None:
            window.loc[other, PREDICTION] = churn_probability(model, window.loc[other])
    log_metadata(
        metadata={
            "live_rows": len(window),
            "window_rows": read.window_rows,
            "live_sample_rows": cfg.live_sample_rows or 0,
            "rows_served_by_other_versions": int(other.sum()),
        }
    )
    return window, read.window_rows
