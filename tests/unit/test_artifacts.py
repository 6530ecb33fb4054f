"""The typed step artifacts (churn/artifacts.py and their neighbours): strict, frozen, and the same
JSON both ways. Examples are built by the real rules where they are cheap, so a rule whose output
drifts away from its artifact's fields fails here, not in a pipeline run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel, ValidationError

from churn.artifacts import (
    Candidates,
    CandidateSummary,
    RealizedArm,
    RealizedReport,
    RefitSummary,
    RetrainResult,
    RollbackDecision,
    RollbackResult,
    TestMetrics,
)
from churn.model_card import CandidateScore, ModelCard
from churn.monitoring.decision import ColumnDrift, DriftDecision, decide
from churn.monitoring.realized import metrics_of
from churn.monitoring.rollback import RollbackRule, decide_rollback
from churn.training.metrics import bootstrap_intervals, classification_metrics
from churn.training.promotion import EvidenceRule, QualityFloor


def _scored(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    proba = np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0, 1)
    return y, proba


def metrics_example() -> TestMetrics:
    y, proba = _scored()
    return TestMetrics(**classification_metrics(y, proba, 0.4), **bootstrap_intervals(y, proba))


def candidate(name: str = "lightgbm") -> CandidateSummary:
    return CandidateSummary(
        name=name,
        cv_roc_auc=0.84,
        cv_roc_auc_std=0.01,
        cv_roc_auc_repeat_std=0.004,
        cv_brier=0.14,
        cv_accuracy_at_0_5=0.8,
        oof_brier=0.141,
        reliability={"mean_predicted": [0.1, 0.5], "observed": [0.12, 0.47]},
        fit_seconds=1.2,
        search_seconds=9.5,
        best_params={"model__num_leaves": 15, "model__learning_rate": 0.05},
        mlflow_run_id="abc",
        model_uri="models:/m-1",
    )


def candidates() -> Candidates:
    return Candidates(chosen=candidate(), candidates=[candidate(), candidate("random_forest")])


def refit_summary() -> RefitSummary:
    return RefitSummary(
        refit_on_all_rows=True,
        rows=7043,
        split_model_rows=5634,
        fit_seconds=0.8,
        in_sample_roc_auc=0.87,
        in_sample_brier=0.13,
        test_rows_mean_abs_change=0.02,
        test_rows_max_abs_change=0.2,
        model_uri="models:/m-2",
    )


def card() -> ModelCard:
    return ModelCard(
        model_version="3",
        model_type="lightgbm",
        threshold=0.4,
        trained_at=dt.datetime(2026, 11, 29, tzinfo=dt.UTC),
        metrics=metrics_example().as_floats(),
        candidates=[CandidateScore(name="lightgbm", cv_roc_auc=0.84)],
        training={"refit_on_all_rows": True, "rows": 7043},
    )


def _joined(n: int = 300, seed: int = 1) -> pd.DataFrame:
    y, proba = _scored(n, seed)
    return pd.DataFrame({"churned": y, "churn_probability": proba, "churn": proba >= 0.5})


def realized_arm() -> RealizedArm:
    return RealizedArm.model_validate(metrics_of(_joined(), "3", "champion", samples=50).as_dict())


def rollback_record() -> RollbackDecision:
    rule = RollbackRule(min_outcomes=50, bootstrap_samples=50)
    decision = decide_rollback("3", "2", _joined(seed=1), _joined(seed=2), rule)
    return RollbackDecision.model_validate(decision.as_dict())


def realized() -> RealizedReport:
    return RealizedReport(
        window_days=30,
        since="2026-10-30T00:00:00+00:00",
        n_outcomes=300,
        n_joined=600,
        metrics=[realized_arm()],
        decision=rollback_record(),
        offline_test_metrics={"3": {"roc_auc": 0.84}},
    )


def drift_decision() -> DriftDecision:
    columns = [ColumnDrift("tenure", "wasserstein", 0.25, 0.4, True)]
    columns.append(ColumnDrift("Contract", "jensenshannon", 0.15, 0.01, False))
    return decide(columns, ColumnDrift("prediction", "psi", 0.1, 0.3, True), 0.5, 1200)


def retrain_result() -> RetrainResult:
    return RetrainResult(
        started=True,
        from_model_version="2",
        data_path="/tmp/d.csv",
        succeeded=True,
        training_run_name="training_pipeline-retrain-x",
        training_run_id="0f0f",
        promoted=True,
        model_card=card(),
    )


# (example, a field, a value of the wrong type for it)
EXAMPLES: list[tuple[Callable[[], BaseModel], str, Any]] = [
    (metrics_example, "roc_auc", "high"),
    (candidate, "best_params", [1, 2]),
    (candidates, "chosen", 3),
    (refit_summary, "rows", "all"),
    (card, "threshold", "half"),
    (lambda: CandidateScore(name="lightgbm", cv_roc_auc=0.8), "cv_roc_auc", "good"),
    (realized_arm, "n", "many"),
    (rollback_record, "degraded", "maybe"),
    (realized, "metrics", {"a": 1}),
    (lambda: RollbackResult(performed=False, reason="not degraded"), "performed", "perhaps"),
    (retrain_result, "model_card", "a card"),
    (drift_decision, "n_rows", "lots"),
    (EvidenceRule, "min_share_better", "most"),
    (QualityFloor, "min_test_roc_auc", "decent"),
]
IDS = [
    "TestMetrics",
    "CandidateSummary",
    "Candidates",
    "RefitSummary",
    "ModelCard",
    "CandidateScore",
    "RealizedArm",
    "RollbackDecision",
    "RealizedReport",
    "RollbackResult",
    "RetrainResult",
    "DriftDecision",
    "EvidenceRule",
    "QualityFloor",
]


@pytest.mark.parametrize(("make", "field", "bad"), EXAMPLES, ids=IDS)
def test_an_unknown_field_is_refused_by_name(
    make: Callable[[], BaseModel], field: str, bad: Any
) -> None:
    data = make().model_dump(mode="json")
    with pytest.raises(ValidationError) as info:
        type(make()).model_validate({**data, "surprise_field": 1})
    errors = info.value.errors()
    assert [(e["type"], e["loc"]) for e in errors] == [("extra_forbidden", ("surprise_field",))]


@pytest.mark.parametrize(("make", "field", "bad"), EXAMPLES, ids=IDS)
def test_a_wrong_typed_field_is_refused_by_name(
    make: Callable[[], BaseModel], field: str, bad: Any
) -> None:
    data = make().model_dump(mode="json")
    assert field in data
    with pytest.raises(ValidationError) as info:
        type(make()).model_validate({**data, field: bad})
    assert {e["loc"][0] for e in info.value.errors()} == {field}


@pytest.mark.parametrize(("make", "field", "bad"), EXAMPLES, ids=IDS)
def test_json_round_trip_and_frozen(make: Callable[[], BaseModel], field: str, bad: Any) -> None:
    """What ZenML's PydanticMaterializer does: JSON out, validated back, equal. Frozen."""
    original = make()
    again = type(original).model_validate(original.model_dump(mode="json"))
    assert again == original
    with pytest.raises(ValidationError, match="frozen"):
        setattr(original, field, bad)


def test_a_nested_unknown_field_is_named_with_its_path() -> None:
    data = retrain_result().model_dump(mode="json")
    data["model_card"]["candidates"][0]["cv_roc_acu"] = 0.9
    with pytest.raises(ValidationError) as info:
        RetrainResult.model_validate(data)
    assert info.value.errors()[0]["loc"] == ("model_card", "candidates", 0, "cv_roc_acu")


def test_column_drift_checks_its_fields_too() -> None:
    with pytest.raises(ValidationError, match="score"):
        ColumnDrift(
            column="tenure",
            method="wasserstein",
            threshold=0.25,
            score="far",  # type: ignore[arg-type]
            drifted=True,
        )
    decision = drift_decision().model_dump(mode="json")
    decision["columns"][0]["p_value"] = 0.01
    with pytest.raises(ValidationError, match="p_value"):
        DriftDecision.model_validate(decision)


def test_the_printed_shapes_stay_what_they_were() -> None:
    """`churn monitor`'s JSON line: retrain and rollback leave out what did not apply, the drift
    decision and realized figures keep every key (None included)."""
    skipped = RetrainResult(started=False, reason="drift detected but retrain_on_drift is off")
    assert skipped.as_json() == {
        "started": False,
        "reason": "drift detected but retrain_on_drift is off",
    }
    assert RollbackResult(performed=False, reason="x").as_json() == {
        "performed": False,
        "reason": "x",
    }
    done = retrain_result().as_json()
    assert done["promoted"] is True and done["model_card"]["model_version"] == "3"
    undecided = decide([], None, 0.5, 0).as_json()
    assert undecided["prediction_drift"] is None and undecided["report_path"] is None
    report = realized().as_json()
    assert report["metrics"][0]["intervals"]["roc_auc"] == list(
        metrics_of(_joined(), "3", "champion", samples=50).as_dict()["intervals"]["roc_auc"]
    )
    assert report["decision"] == rollback_record().model_dump(mode="json")


def test_test_metrics_carry_every_figure_the_rules_produce() -> None:
    """A new figure in classification_metrics/bootstrap_intervals must be added to TestMetrics."""
    y, proba = _scored()
    produced = {**classification_metrics(y, proba, 0.4), **bootstrap_intervals(y, proba)}
    assert set(TestMetrics.model_fields) == set(produced)
    assert metrics_example().as_floats() == pytest.approx(produced)


def test_a_replaced_copy_is_validated() -> None:
    """Steps build results step by step with `replaced`; a wrong value fails there, by name."""
    started = RetrainResult(started=True, training_run_name="r")
    done = started.replaced(succeeded=True, model_card=card())
    assert done.succeeded is True and done.model_card == card() and started.succeeded is None
    with pytest.raises(ValidationError) as info:
        started.replaced(succeeded="sort of")
    assert [e["loc"] for e in info.value.errors()] == [("succeeded",)]
    with pytest.raises(ValidationError, match="typo"):
        started.replaced(typo=1)
