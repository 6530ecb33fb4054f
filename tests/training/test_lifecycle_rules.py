"""The rules of a promotion by hand and of a rollback, without ZenML: pure functions."""

from __future__ import annotations

import pytest

from churn.training.promotion import QualityFloor, decide_manual_promotion, rollback_target

FLOOR = QualityFloor()  # the shipped defaults: ROC-AUC 0.80, accuracy 0.76


def test_above_the_floor_is_promoted_by_hand_without_evidence() -> None:
    decision = decide_manual_promotion("4", {"roc_auc": 0.81, "accuracy_at_0_5": 0.77}, FLOOR, "3")
    assert decision.promoted is True
    assert decision.reason == "promoted by hand over 3"
    assert decision.checks["above_floor"] is True
    assert decision.checks["production_version"] == "3"


def test_first_version_by_hand() -> None:
    decision = decide_manual_promotion("1", {"roc_auc": 0.9, "accuracy_at_0_5": 0.8}, FLOOR, None)
    assert decision.promoted is True
    assert "no production version" in decision.reason


@pytest.mark.parametrize(
    ("metrics", "miss"),
    [
        ({"roc_auc": 0.7999, "accuracy_at_0_5": 0.9}, "test ROC-AUC 0.7999 < floor 0.8"),
        ({"roc_auc": 0.95, "accuracy_at_0_5": 0.7599}, "test accuracy at 0.5 0.7599 < floor 0.76"),
    ],
)
def test_under_the_floor_is_refused(metrics: dict[str, float], miss: str) -> None:
    decision = decide_manual_promotion("4", metrics, FLOOR, "3")
    assert decision.promoted is False
    assert decision.reason.startswith("version 4 is under the quality floor")
    assert miss in decision.reason
    assert decision.checks["above_floor"] is False


def test_exactly_on_the_floor_is_promoted() -> None:
    on = {"roc_auc": FLOOR.min_test_roc_auc, "accuracy_at_0_5": FLOOR.min_test_accuracy}
    assert decide_manual_promotion("4", on, FLOOR, "3").promoted is True


@pytest.mark.parametrize("metrics", [None, {}, {"roc_auc": 0.9}])
def test_without_test_metrics_is_refused(metrics: dict[str, float] | None) -> None:
    decision = decide_manual_promotion("4", metrics, FLOOR, "3")
    assert decision.promoted is False
    assert "no recorded test metrics" in decision.reason


def test_the_production_version_is_refused() -> None:
    decision = decide_manual_promotion("3", {"roc_auc": 0.9, "accuracy_at_0_5": 0.8}, FLOOR, "3")
    assert decision.promoted is False
    assert decision.reason == "version 3 is already in production"


def test_a_custom_floor_applies() -> None:
    strict = QualityFloor(min_test_roc_auc=0.99, min_test_accuracy=0.5)
    decision = decide_manual_promotion("4", {"roc_auc": 0.85, "accuracy_at_0_5": 0.8}, strict, "3")
    assert decision.promoted is False
    assert "test ROC-AUC 0.8500 < floor 0.99" in decision.reason


def test_rollback_goes_to_the_version_production_replaced() -> None:
    assert rollback_target("5", "3") == "3"


@pytest.mark.parametrize(
    ("current", "previous", "message"),
    [
        (None, None, "no production version to roll back from"),
        ("5", None, "production version 5 has no previous production version"),
        ("5", "", "production version 5 has no previous production version"),
        ("5", "5", "names itself"),
    ],
)
def test_rollback_refusals(current: str | None, previous: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rollback_target(current, previous)
