"""The fast scoring path equals the sklearn pipeline, and explanations add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from serving_models import fit_pipeline
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bentos.scorer import Scorer
from churn.schema import FEATURE_NAMES

ESTIMATORS = {
    "logreg": lambda: LogisticRegression(max_iter=1000),
    "forest": lambda: RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0),
    "hgb": lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
}


@pytest.fixture(scope="module")
def fitted(serving_frame: pd.DataFrame) -> dict[str, Pipeline]:
    return {name: fit_pipeline(serving_frame, make()) for name, make in ESTIMATORS.items()}


@pytest.fixture(params=sorted(ESTIMATORS))
def pipeline(request: pytest.FixtureRequest, fitted: dict[str, Pipeline]) -> Pipeline:
    return fitted[request.param]


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return frame[list(FEATURE_NAMES)].to_dict(orient="records")


def test_fast_path_equals_pipeline_on_real_data(
    pipeline: Pipeline, serving_frame: pd.DataFrame
) -> None:
    expected = pipeline.predict_proba(serving_frame[list(FEATURE_NAMES)])[:, 1]
    got = Scorer(pipeline).proba(_records(serving_frame))
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-9


def test_single_records_equal_pipeline(pipeline: Pipeline, serving_frame: pd.DataFrame) -> None:
    scorer = Scorer(pipeline)
    sample = serving_frame.sample(25, random_state=1)
    expected = pipeline.predict_proba(sample[list(FEATURE_NAMES)])[:, 1]
    got = np.array([scorer.proba([r])[0] for r in _records(sample)])
    assert np.max(np.abs(got - expected)) <= 1e-9


def test_explanation_covers_every_feature_sorted(
    pipeline: Pipeline, serving_frame: pd.DataFrame
) -> None:
    scorer = Scorer(pipeline)
    record = _records(serving_frame.iloc[[7]])[0]
    exp = scorer.explain(record)
    assert sorted(c.feature for c in exp.contributions) == sorted(FEATURE_NAMES)
    sizes = [abs(c.contribution) for c in exp.contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert exp.churn_probability == pytest.approx(scorer.proba([record])[0], abs=1e-12)
    assert {c.feature: c.value for c in exp.contributions} == record


def test_linear_contributions_add_up_to_the_log_odds(
    fitted: dict[str, Pipeline], serving_frame: pd.DataFrame
) -> None:
    scorer = Scorer(fitted["logreg"])
    for record in _records(serving_frame.sample(20, random_state=2)):
        exp = scorer.explain(record)
        assert exp.method == "linear_log_odds"
        total = exp.base_value + sum(c.contribution for c in exp.contributions)
        assert total == pytest.approx(float(logit(exp.churn_probability)), abs=1e-9)


def test_occlusion_for_trees(fitted: dict[str, Pipeline], serving_frame: pd.DataFrame) -> None:
    scorer = Scorer(fitted["hgb"])
    exp = scorer.explain(_records(serving_frame.iloc[[3]])[0])
    assert exp.method == "mean_occlusion"
    assert 0 <= exp.base_value <= 1
    assert any(c.contribution != 0 for c in exp.contributions)


def test_rejects_a_pipeline_without_the_churn_encoder() -> None:
    with pytest.raises(TypeError, match="ChurnEncoder"):
        Scorer(Pipeline([("encode", "passthrough"), ("model", LogisticRegression())]))
