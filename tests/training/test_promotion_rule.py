"""The promotion rule at its boundaries, on the paired bootstrap the promote step computes.

Scores are simulated for a 1,200-row test split like the pipeline's: a latent churn signal, and
models that see it through more or less noise. Clearly better: promoted; noise: not; worse: not;
under the floor: never, also with no production version.
"""

from __future__ import annotations

import numpy as np
import pytest

from churn.training.metrics import paired_auc_difference
from churn.training.promotion import (
    EvidenceRule,
    QualityFloor,
    decide_promotion,
    floor_failures,
)

FLOOR = QualityFloor()  # the shipped defaults
RULE = EvidenceRule()
ABOVE = {"roc_auc": 0.85, "accuracy_at_0_5": 0.80}


def _split(seed: int = 0, n: int = 1200) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = (signal + rng.normal(scale=0.8, size=n) > 0.9).astype(int)
    return rng, signal, y


def _model(rng: np.random.Generator, signal: np.ndarray, noise: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(signal + rng.normal(scale=noise, size=len(signal)))))


def _paired(new_noise: float, old_noise: float, seed: int = 0) -> dict[str, float]:
    rng, signal, y = _split(seed)
    old = _model(rng, signal, old_noise)
    new = _model(rng, signal, new_noise)
    return paired_auc_difference(y, new, old)


def test_clearly_better_is_promoted() -> None:
    paired = _paired(new_noise=0.5, old_noise=1.0)
    decision = decide_promotion(ABOVE, paired, FLOOR, RULE, "3")
    assert paired["share_new_better"] > 0.99
    assert decision.promoted is True
    assert decision.reason.startswith("beats production 3 on evidence")
    assert decision.checks["share_new_better"] == paired["share_new_better"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noise_is_not_promoted(seed: int) -> None:
    # Two equally good models (independent noise of the same size). The share of resamples won
    # alone is luck (seed 3 wins 85%); the lower bound of the difference stops it.
    paired = _paired(new_noise=0.8, old_noise=0.8, seed=seed)
    decision = decide_promotion(ABOVE, paired, FLOOR, RULE, "3")
    assert paired["difference_ci_low"] < RULE.min_difference_ci_low < paired["difference_ci_high"]
    assert decision.promoted is False
    assert "does not beat production 3 on evidence" in decision.reason


def test_identical_model_is_not_promoted() -> None:
    rng, signal, y = _split()
    same = _model(rng, signal, 0.8)
    paired = paired_auc_difference(y, same, same)
    decision = decide_promotion(ABOVE, paired, FLOOR, RULE, "3")
    assert paired["share_new_better"] == 0.0
    assert decision.promoted is False


def test_worse_is_not_promoted() -> None:
    paired = _paired(new_noise=1.0, old_noise=0.5)
    decision = decide_promotion(ABOVE, paired, FLOOR, RULE, "3")
    assert paired["difference_ci_high"] < 0
    assert decision.promoted is False
    assert f"needs > {RULE.min_difference_ci_low:+.4f}" in decision.reason


def test_share_alone_is_not_enough_when_the_lower_bound_is_too_low() -> None:
    paired = {"share_new_better": 0.9, "difference_ci_low": -0.02, "difference_ci_high": 0.03}
    assert decide_promotion(ABOVE, paired, FLOOR, RULE).promoted is False
    lenient = EvidenceRule(min_share_better=0.8, min_difference_ci_low=-0.03)
    assert decide_promotion(ABOVE, paired, FLOOR, lenient).promoted is True


def test_share_boundary_is_inclusive_and_lower_bound_strict() -> None:
    at = {"share_new_better": RULE.min_share_better, "difference_ci_low": 0.0}
    assert decide_promotion(ABOVE, at, FLOOR, RULE).promoted is True
    low_at = {"share_new_better": 1.0, "difference_ci_low": RULE.min_difference_ci_low}
    assert decide_promotion(ABOVE, low_at, FLOOR, RULE).promoted is False


@pytest.mark.parametrize(
    ("metrics", "named"),
    [
        ({"roc_auc": 0.79, "accuracy_at_0_5": 0.80}, "test ROC-AUC 0.7900 < floor 0.8"),
        ({"roc_auc": 0.85, "accuracy_at_0_5": 0.75}, "test accuracy at 0.5 0.7500 < floor 0.76"),
    ],
)
def test_under_the_floor_is_never_promoted(metrics: dict[str, float], named: str) -> None:
    clearly_better = _paired(new_noise=0.5, old_noise=1.0)
    for paired in (None, clearly_better):  # no production yet, or beaten by far
        decision = decide_promotion(metrics, paired, FLOOR, RULE, "3")
        assert decision.promoted is False
        assert decision.reason.startswith("not promoted: under the quality floor")
        assert named in decision.reason
        assert decision.checks["above_floor"] is False
        assert decision.checks["floor"] == FLOOR.model_dump()


def test_first_version_above_the_floor_is_promoted() -> None:
    decision = decide_promotion(ABOVE, None, FLOOR, RULE)
    assert decision.promoted is True
    assert "first version" in decision.reason and "above the quality floor" in decision.reason


def test_floor_failures_lists_both_misses() -> None:
    misses = floor_failures({"roc_auc": 0.5, "accuracy_at_0_5": 0.5}, FLOOR)
    assert len(misses) == 2
    assert floor_failures({"roc_auc": 0.80, "accuracy_at_0_5": 0.76}, FLOOR) == []
