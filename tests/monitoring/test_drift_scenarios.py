"""The generator's drift knobs against the real Evidently report, at live windows of 1000-2000 rows.

Undrifted traffic raises nothing; each drifted scenario raises drift and names the features that
moved. Seeds differ between reference and window, so sampling noise is part of the test.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn.features import ChurnEncoder
from churn.generator import generate
from churn.monitoring.config import MonitoringConfig
from churn.monitoring.decision import DriftDecision, decide
from churn.schema import FEATURE_NAMES, TARGET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CFG = MonitoringConfig(reference_max_rows=4000)
MOVED = {
    "price_rise": {"MonthlyCharges"},
    "contract_shift": {"Contract"},  # tenure follows (0.26-0.37 vs 0.25), not asserted
    "fiber_surge": {"InternetService", "MonthlyCharges"},
}
DEMOGRAPHICS = {"gender", "SeniorCitizen", "Partner", "Dependents"}


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return generate(4000, seed=1)


@pytest.fixture(scope="module")
def model(reference: pd.DataFrame) -> Pipeline:
    pipe = Pipeline([("encode", ChurnEncoder()), ("model", LogisticRegression(max_iter=500))])
    return pipe.fit(reference[list(FEATURE_NAMES)], reference[TARGET])


def _run(reference: pd.DataFrame, window: pd.DataFrame, model: Pipeline | None) -> DriftDecision:
    from steps.monitoring.evidently_report import analyse

    ref_pred = cur_pred = None
    if model is not None:
        ref_pred = pd.Series(model.predict_proba(reference[list(FEATURE_NAMES)])[:, 1])
        cur_pred = pd.Series(model.predict_proba(window[list(FEATURE_NAMES)])[:, 1])
    result = analyse(CFG, reference, window, ref_pred, cur_pred)
    assert "<html" in result.html[:2000].lower()
    assert result.quality["current_rows"] == len(window)
    return decide(
        result.columns,
        result.prediction,
        CFG.drift_share_threshold,
        len(window),
        share=result.drift_share,
    )


@pytest.mark.parametrize(("rows", "seed"), [(1000, 11), (2000, 12)])
def test_training_distribution_raises_no_drift(
    reference: pd.DataFrame, model: Pipeline, rows: int, seed: int
) -> None:
    decision = _run(reference, generate(rows, seed=seed), model)
    assert decision.drift_detected is False, decision.reasons
    assert decision.drifted_features == []
    assert decision.prediction_drift is not None and not decision.prediction_drift.drifted


@pytest.mark.parametrize("scenario", sorted(MOVED))
def test_each_scenario_raises_drift_naming_what_moved(
    reference: pd.DataFrame, model: Pipeline, scenario: str
) -> None:
    decision = _run(reference, generate(1500, seed=21, drift=scenario), model)
    assert decision.drift_detected is True
    assert MOVED[scenario] <= set(decision.drifted_features), decision.reasons
    assert not set(decision.drifted_features) & DEMOGRAPHICS, "no scenario moves these"
    if scenario == "price_rise":  # only the bill moved
        assert set(decision.drifted_features) <= {"MonthlyCharges", "TotalCharges"}


def test_no_false_alarm_against_a_real_data_reference(real_frame: pd.DataFrame) -> None:
    """A model trained on the real IBM data, fed generator traffic: no false alarm either."""
    reference = real_frame.sample(4000, random_state=0)
    decision = _run(reference, generate(1500, seed=31), None)
    assert decision.drift_detected is False, decision.reasons
