"""Build and save a churn model the way the training pipeline does, for the serving tests."""

from __future__ import annotations

from datetime import UTC, datetime

import bentoml
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from churn.features import ChurnEncoder
from churn.model_card import CandidateScore, ModelCard
from churn.schema import FEATURE_NAMES, TARGET


def fit_pipeline(frame: pd.DataFrame, estimator: ClassifierMixin | None = None) -> Pipeline:
    estimator = estimator if estimator is not None else LogisticRegression(max_iter=1000)
    pipeline = Pipeline([("encode", ChurnEncoder()), ("model", estimator)])
    y = (frame[TARGET] == "Yes").astype(int) if frame[TARGET].dtype == object else frame[TARGET]
    pipeline.fit(frame[list(FEATURE_NAMES)], y)
    return pipeline


def save_model(
    frame: pd.DataFrame,
    estimator: ClassifierMixin | None = None,
    version: str = "1",
    threshold: float = 0.45,
    name: str = "telco_churn",
) -> bentoml.Model:
    """Fit on `frame` and save into the current BENTOML_HOME with a model card."""
    pipeline = fit_pipeline(frame, estimator)
    y = (frame[TARGET] == "Yes").astype(int) if frame[TARGET].dtype == object else frame[TARGET]
    auc = float(roc_auc_score(y, pipeline.predict_proba(frame[list(FEATURE_NAMES)])[:, 1]))
    card = ModelCard(
        model_name=name,
        model_version=version,
        model_type=type(pipeline.steps[-1][1]).__name__,
        threshold=threshold,
        mlflow_run_id="test-run-" + version,
        trained_at=datetime.now(UTC),
        metrics={"roc_auc": auc},
        candidates=[
            CandidateScore(
                name="logreg",
                cv_roc_auc=auc,
                cv_roc_auc_std=0.0,
                fit_seconds=0.1,
                mlflow_run_id="test-run-" + version,
            )
        ],
        data_md5="test",
    )
    return bentoml.sklearn.save_model(
        name, pipeline, labels=card.labels(), metadata=card.to_metadata()
    )
