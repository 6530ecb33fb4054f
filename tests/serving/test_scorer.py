"""The scorer on every family the pipeline can promote: exact probabilities, exact explanations.

Each model is `churn.training.candidates.build_pipeline(family)` fitted on the real data
(tests/fixtures/promotable.py). The explanations are checked two ways: they add up to the
model's margin on holdout-like records, and they equal the SHAP library's values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import shap
from scipy.special import logit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bentos.scorer import LINEAR, OCCLUSION, TREE_LOG_ODDS, TREE_PROBABILITY, Scorer
from churn.features import COLUMN_SOURCES
from churn.schema import FEATURE_NAMES
from tests.fixtures.promotable import families, fit_candidate

FAMILIES = families()
EXPECTED_METHOD = {
    "logistic_regression": LINEAR,
    "random_forest": TREE_PROBABILITY,
    "hist_gradient_boosting": TREE_LOG_ODDS,
}
ADDITIVE = {LINEAR, TREE_PROBABILITY, TREE_LOG_ODDS}


@pytest.fixture(scope="module")
def split(serving_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit on 80%, explain the other 20% (holdout-like records)."""
    holdout = serving_frame.sample(frac=0.2, random_state=4)
    return serving_frame.drop(holdout.index), holdout


@pytest.fixture(scope="module")
def fitted(split: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, Pipeline]:
    return {family: fit_candidate(family, split[0]) for family in FAMILIES}


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame[list(FEATURE_NAMES)].to_dict(orient="records")


def _margin(method: str, probability: float) -> float:
    return float(logit(probability)) if method.endswith("log_odds") else probability


def test_every_family_takes_its_declared_fast_path(
    family: str, fitted: dict[str, Pipeline]
) -> None:
    from churn.training.candidates import FAMILIES

    scorer = Scorer(fitted[family])
    assert scorer.kind == FAMILIES[family].fast_path, f"{family} takes {scorer.kind}"
    assert scorer.kind != "generic", f"{family} falls back to predict_proba"


def test_fast_path_equals_pipeline_on_real_data(
    family: str, fitted: dict[str, Pipeline], serving_frame: pd.DataFrame
) -> None:
    pipeline = fitted[family]
    expected = pipeline.predict_proba(serving_frame[list(FEATURE_NAMES)])[:, 1]
    got = Scorer(pipeline).proba(_records(serving_frame))
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-9


def test_single_records_equal_pipeline(
    family: str, fitted: dict[str, Pipeline], split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    pipeline = fitted[family]
    scorer = Scorer(pipeline)
    sample = split[1].sample(25, random_state=1)
    expected = pipeline.predict_proba(sample[list(FEATURE_NAMES)])[:, 1]
    got = np.array([scorer.proba([r])[0] for r in _records(sample)])
    assert np.max(np.abs(got - expected)) <= 1e-9


def test_explanations_add_up_on_holdout_records(
    family: str, fitted: dict[str, Pipeline], split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    scorer = Scorer(fitted[family])
    records = _records(split[1].sample(60, random_state=2))
    for record in records:
        exp = scorer.explain(record)
        assert exp.method == EXPECTED_METHOD.get(family, exp.method) and exp.method in ADDITIVE
        assert exp.churn_probability == pytest.approx(scorer.proba([record])[0], abs=1e-12)
        assert sorted(c.feature for c in exp.contributions) == sorted(FEATURE_NAMES)
        assert {c.feature: c.value for c in exp.contributions} == record
        sizes = [abs(c.contribution) for c in exp.contributions]
        assert sizes == sorted(sizes, reverse=True)
        total = exp.base_value + sum(c.contribution for c in exp.contributions)
        assert total == pytest.approx(_margin(exp.method, exp.churn_probability), abs=1e-9)


def _by_feature(per_column: np.ndarray) -> dict[str, float]:
    out = dict.fromkeys(FEATURE_NAMES, 0.0)
    for j, source in enumerate(COLUMN_SOURCES):
        out[source] += float(per_column[j])
    return out


def _served(scorer: Scorer, record: dict[str, Any]) -> tuple[float, dict[str, float]]:
    exp = scorer.explain(record)
    return exp.base_value, {c.feature: c.contribution for c in exp.contributions}


def _shap_linear(scorer: Scorer, record: dict[str, Any]) -> tuple[float, dict[str, float]]:
    """shap's PermutationExplainer on the 19 input features, baseline the training-mean customer.

    Players switch their encoded columns between the mean and the record; with antithetic
    permutations the estimate is exact for a model whose terms involve at most two features."""
    x = scorer.encode([record])[0]
    source = np.array([FEATURE_NAMES.index(s) for s in COLUMN_SOURCES])

    def log_odds(switches: np.ndarray) -> np.ndarray:
        rows = np.where(switches[:, source] > 0.5, x, scorer.means)
        return np.asarray(logit(scorer.proba_encoded(rows)))

    masker = shap.maskers.Independent(np.zeros((1, len(FEATURE_NAMES))))
    explainer = shap.PermutationExplainer(log_odds, masker, seed=0)
    values = explainer(np.ones((1, len(FEATURE_NAMES))), max_evals=200, silent=True)
    return float(values.base_values[0]), dict(zip(FEATURE_NAMES, values.values[0], strict=True))


def _shap_tree(scorer: Scorer, record: dict[str, Any]) -> tuple[float, dict[str, float]]:
    explainer = shap.TreeExplainer(scorer.estimator)
    values = np.asarray(explainer.shap_values(scorer.encode([record])))
    expected = np.asarray(explainer.expected_value).reshape(-1)
    if values.ndim == 3:  # forests: one column per class, probability of churn is class 1
        return float(expected[1]), _by_feature(values[0, :, 1])
    return float(expected[0]), _by_feature(values[0])


def test_explanations_equal_the_shap_library(
    family: str, fitted: dict[str, Pipeline], split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    scorer = Scorer(fitted[family])
    reference = _shap_linear if scorer.kind == "linear" else _shap_tree
    for record in _records(split[1].sample(5, random_state=3)):
        base, served = _served(scorer, record)
        shap_base, shap_values = reference(scorer, record)
        assert base == pytest.approx(shap_base, abs=1e-6)
        for feature in FEATURE_NAMES:
            assert served[feature] == pytest.approx(shap_values[feature], abs=1e-6), feature


def test_interactions_are_split_between_their_two_features(
    fitted: dict[str, Pipeline], split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """Without the interaction weights the explanation is the plain linear one; with them, the
    difference goes to tenure/charges and Contract/InternetService/PaymentMethod only."""
    scorer = Scorer(fitted["logistic_regression"])
    record = _records(split[1].iloc[[0]])[0]
    _, with_pairs = _served(scorer, record)
    saved = scorer._pair_w.copy()
    try:
        scorer._pair_w = np.zeros_like(saved)
        _, main_only = _served(scorer, record)
    finally:
        scorer._pair_w = saved
    moved = {f for f in FEATURE_NAMES if abs(with_pairs[f] - main_only[f]) > 1e-12}
    paired = {"tenure", "MonthlyCharges", "TotalCharges", "Contract", "InternetService",
              "PaymentMethod"}  # fmt: skip
    assert moved and moved <= paired


def test_occlusion_for_an_unknown_estimator(serving_frame: pd.DataFrame) -> None:
    """A model that is neither linear nor a known tree ensemble keeps a (non-additive) answer."""
    from sklearn.neighbors import KNeighborsClassifier

    from churn.features import ChurnEncoder

    pipeline = Pipeline([("encode", ChurnEncoder()), ("model", KNeighborsClassifier(15))])
    sample = serving_frame.sample(500, random_state=0)
    pipeline.fit(sample[list(FEATURE_NAMES)], sample["Churn"])
    scorer = Scorer(pipeline)
    records = _records(sample.head(30))
    expected = pipeline.predict_proba(sample.head(30)[list(FEATURE_NAMES)])[:, 1]
    assert np.max(np.abs(scorer.proba(records) - expected)) <= 1e-9
    exp = scorer.explain(records[0])
    assert exp.method == OCCLUSION and 0 <= exp.base_value <= 1


def test_rejects_a_pipeline_without_the_churn_encoder() -> None:
    with pytest.raises(TypeError, match="ChurnEncoder"):
        Scorer(Pipeline([("encode", "passthrough"), ("model", LogisticRegression())]))


def test_a_pipeline_ending_in_lightgbm_is_exact_and_explained_by_treeshap(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """The shape the LightGBM candidate takes (ChurnEncoder -> LGBMClassifier), until it is a
    family of `candidates.FAMILIES` (then the family tests above cover it too)."""
    import lightgbm

    from churn.features import ChurnEncoder

    train, holdout = split
    model = lightgbm.LGBMClassifier(n_estimators=60, num_leaves=15, n_jobs=1, verbose=-1)
    pipeline = Pipeline([("encode", ChurnEncoder()), ("model", model)])
    pipeline.fit(train[list(FEATURE_NAMES)], train["Churn"])
    scorer = Scorer(pipeline)
    assert scorer.kind == "lightgbm"
    expected = pipeline.predict_proba(holdout[list(FEATURE_NAMES)])[:, 1]
    records = _records(holdout)
    assert np.max(np.abs(scorer.proba(records) - expected)) <= 1e-9
    for record in records[:5]:
        exp = scorer.explain(record)
        assert exp.method == TREE_LOG_ODDS
        total = exp.base_value + sum(c.contribution for c in exp.contributions)
        assert total == pytest.approx(float(logit(exp.churn_probability)), abs=1e-9)
        base, shap_values = _shap_tree(scorer, record)
        assert exp.base_value == pytest.approx(base, abs=1e-6)
        for c in exp.contributions:
            assert c.contribution == pytest.approx(shap_values[c.feature], abs=1e-6)


# ------------------------------------------------- request/response models on the hot path


def test_consistent_service_set_equals_the_core_rule_on_every_combination() -> None:
    """`Customer`'s one-lookup check agrees with `consistency_problems` on all 13,122 inputs."""
    from itertools import product

    from bentos.api_models import CONSISTENT_SERVICES, SERVICE_FIELDS
    from churn.schema import FEATURES_BY_NAME, consistency_problems

    domains = [FEATURES_BY_NAME[name].categories for name in SERVICE_FIELDS]
    checked = 0
    for values in product(*domains):
        record = dict(zip(SERVICE_FIELDS, values, strict=True))
        assert (values in CONSISTENT_SERVICES) == (not consistency_problems(record)), record
        checked += 1
    assert checked == 3 * 2 * 3 * 3**6
    assert len(CONSISTENT_SERVICES) == 3 * 129


def test_customer_still_rejects_an_inconsistent_record_naming_the_field() -> None:
    from pydantic import ValidationError

    from bentos.api_models import Customer
    from churn.schema import EXAMPLE_RECORD, NO_INTERNET

    Customer.model_validate(EXAMPLE_RECORD)  # DSL with add-ons: consistent
    with pytest.raises(ValidationError, match="TechSupport"):
        Customer.model_validate({**EXAMPLE_RECORD, "TechSupport": NO_INTERNET})


def test_batch_response_body_parses_to_what_json_dumps_gives() -> None:
    """pydantic-core's encoder writes the same values (shortest round-trip floats), through the
    return type BentoML encodes `/predict_batch`'s answer with (`BatchBody`)."""
    import json

    from pydantic import TypeAdapter

    from bentos.api_models import BatchBody

    rng = np.random.default_rng(7)
    probs = [*rng.random(500).tolist(), 0.0, 1.0, 1e-17, 0.1, 1 / 3]
    rows = [
        {
            "churn_probability": p,
            "churn": p >= 0.45,
            "risk_band": "high" if p >= 0.6 else "low",
            "threshold": 0.45,
            "model_version": "7",
        }
        for p in probs
    ]
    body = TypeAdapter(BatchBody).dump_python(rows)
    assert isinstance(body, bytes)
    parsed = json.loads(body)
    assert parsed == json.loads(json.dumps({"predictions": rows, "model_version": "7"}))
    assert [r["churn_probability"] for r in parsed["predictions"]] == probs
