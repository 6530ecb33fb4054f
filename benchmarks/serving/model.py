"""Make sure the BentoML store holds a `telco_churn` model to benchmark."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import bentoml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn.data import load_clean
from churn.features import ChurnEncoder
from churn.generator import generate
from churn.model_card import ModelCard
from churn.schema import FEATURE_NAMES, TARGET

REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "telco_customer_churn.csv"


def ensure_model(name: str = "telco_churn") -> str:
    """The latest model's tag; fits and saves a LogisticRegression pipeline if there is none."""
    try:
        return str(bentoml.models.get(f"{name}:latest").tag)
    except bentoml.exceptions.NotFound:
        pass
    frame = load_clean(REAL_DATA) if REAL_DATA.exists() else generate(6000, seed=3)
    pipeline = Pipeline([("encode", ChurnEncoder()), ("model", LogisticRegression(max_iter=1000))])
    pipeline.fit(frame[list(FEATURE_NAMES)], frame[TARGET])
    card = ModelCard(
        model_name=name,
        model_version="benchmark",
        model_type="LogisticRegression",
        threshold=0.5,
        mlflow_run_id="benchmark",
        trained_at=datetime.now(UTC),
    )
    saved = bentoml.sklearn.save_model(
        name,
        pipeline,
        labels=card.labels(),
        metadata=card.model_dump(mode="json", exclude_none=True),
    )
    return str(saved.tag)
