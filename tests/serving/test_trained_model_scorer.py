"""The service's scorer on the model the training pipeline really produced (not a stand-in)."""

from __future__ import annotations

import bentoml
import numpy as np

from bentos.scorer import Scorer
from tests.fixtures.training import TrainedModel


def test_scorer_is_exact_on_the_pipeline_trained_model(trained_model: TrainedModel) -> None:
    pipeline = bentoml.models.get(trained_model.bento_model_tag).load_model()
    scorer = Scorer(pipeline)
    frame = trained_model.test_data.drop(columns=["Churn"])
    records = frame.drop(columns=["customerID"]).to_dict(orient="records")
    fast = scorer.proba(records)
    assert np.max(np.abs(fast - pipeline.predict_proba(frame)[:, 1])) <= 1e-9
    explanation = scorer.explain(records[0])
    assert abs(explanation.churn_probability - fast[0]) <= 1e-9
    assert {c.feature for c in explanation.contributions} == set(records[0])
    magnitudes = [abs(c.contribution) for c in explanation.contributions]
    assert magnitudes == sorted(magnitudes, reverse=True)
