"""The CI/CD retraining gate (churn.monitoring.gate): which runs train, and why."""

from __future__ import annotations

import pytest

from churn.monitoring.gate import should_retrain

QUIET = {"drift_detected": False, "production_version": "4", "drifted_features": []}


@pytest.mark.parametrize(
    ("summary", "event", "force", "expected", "reason"),
    [
        (QUIET, "push", False, False, "no drift in production version 4"),
        (QUIET, "schedule", False, True, "scheduled"),
        (QUIET, "push", True, True, "forced"),
        (
            {**QUIET, "drift_detected": True, "drifted_features": ["tenure"]},
            "push",
            False,
            True,
            "drift detected (tenure)",
        ),
        (
            {"drift_detected": False, "production_version": None},
            "push",
            False,
            True,
            "no production model yet",
        ),
    ],
)
def test_gate(summary: dict, event: str, force: bool, expected: bool, reason: str) -> None:
    retrain, why = should_retrain(summary, event, force)
    assert retrain is expected
    assert reason in why


def test_a_summary_from_elsewhere_is_refused() -> None:
    with pytest.raises(ValueError, match="drift_detected"):
        should_retrain({"status": "ok"}, "push", False)
