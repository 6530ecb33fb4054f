"""The production model version of the ZenML Model Control Plane and what hangs off it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from churn.control.registry import REFERENCE_ARTIFACT
from churn.monitoring.config import MonitoringConfig
from churn.schema import FEATURE_NAMES
from churn.settings import get_settings

__all__ = ["REFERENCE_ARTIFACT", "NoProductionModel", "production_version", "reference_data"]


class NoProductionModel(RuntimeError):
    """There is no production model version to compare the live traffic with."""


def model_name(cfg: MonitoringConfig) -> str:
    return cfg.model_name or get_settings().model_name


def production_version(cfg: MonitoringConfig) -> Any:
    """The production model version (churn/control/registry.py's lookup), with a clear error when
    there is none: monitoring has nothing to compare the live traffic with then."""
    from churn.control.registry import production_version as lookup

    name = model_name(cfg)
    version = lookup(name)
    if version is None:
        raise NoProductionModel(
            f"no production version of model {name!r}: train and promote one first "
            "(the training pipeline), then monitor it"
        )
    return version


def reference_data(version: Any, cfg: MonitoringConfig) -> pd.DataFrame:
    artifact = version.get_artifact(REFERENCE_ARTIFACT)
    if artifact is None:
        raise NoProductionModel(
            f"model version {version.name} has no {REFERENCE_ARTIFACT!r} artifact: retrain it with "
            "a training pipeline that stores its training split"
        )
    frame: pd.DataFrame = artifact.load()
    missing = [c for c in FEATURE_NAMES if c not in frame.columns]
    if missing:
        raise NoProductionModel(f"{REFERENCE_ARTIFACT} of version {version.name} lacks {missing}")
    if len(frame) > cfg.reference_max_rows:
        frame = frame.sample(cfg.reference_max_rows, random_state=cfg.seed)
    return frame.reset_index(drop=True)


MODEL_ARTIFACTS = ("churn_model", "model")
"""Where the training pipeline keeps the sklearn pipeline (tried after `model_artifact`)."""


def production_model(version: Any, cfg: MonitoringConfig) -> Any | None:
    """The sklearn pipeline of the version, or None when no model artifact is there."""
    for name in dict.fromkeys((cfg.model_artifact, *MODEL_ARTIFACTS)):
        artifact = version.get_artifact(name)
        if artifact is not None:
            return artifact.load()
    return None


def churn_probability(model: Any, features: pd.DataFrame) -> pd.Series:
    proba = model.predict_proba(features[list(FEATURE_NAMES)])[:, 1]
    return pd.Series(proba, index=features.index, dtype="float64")
