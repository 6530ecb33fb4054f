"""The promotion rule: an absolute quality floor, then evidence from the paired bootstrap.

Pure functions: the promote step computes the figures (test metrics of the new version's split
model, and the paired bootstrap of its ROC-AUC minus production's on the same test rows) and records
what `decide_promotion` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class QualityFloor(BaseModel):
    """Minimum test figures of the split model; under either, never promoted (issue #12).

    Defaults from measurements on the real data (docs/training.md): the weakest of ten 80/20
    splits scores ROC-AUC 0.844 and accuracy at 0.5 0.798; the 95% bootstrap lower bounds of the
    configured (hard) split are 0.808 and 0.765. Always answering "no churn" scores 0.735.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_test_roc_auc: float = Field(default=0.80, ge=0, le=1)
    min_test_accuracy: float = Field(default=0.76, ge=0, le=1)


class EvidenceRule(BaseModel):
    """How sure the paired bootstrap must be that the new version beats production."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_share_better: float = Field(default=0.8, ge=0, le=1)
    min_difference_ci_low: float = Field(default=-0.005, ge=-1, le=1)


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    reason: str
    checks: dict[str, Any] = field(default_factory=dict)


def floor_failures(metrics: Mapping[str, float], floor: QualityFloor) -> list[str]:
    """Human-readable misses of the floor; empty when the model is above it."""
    misses = []
    auc = float(metrics["roc_auc"])
    acc = float(metrics["accuracy_at_0_5"])
    if auc < floor.min_test_roc_auc:
        misses.append(f"test ROC-AUC {auc:.4f} < floor {floor.min_test_roc_auc}")
    if acc < floor.min_test_accuracy:
        misses.append(f"test accuracy at 0.5 {acc:.4f} < floor {floor.min_test_accuracy}")
    return misses


def decide_promotion(
    metrics: Mapping[str, float],
    paired: Mapping[str, float] | None,
    floor: QualityFloor,
    evidence: EvidenceRule,
    production_name: str | None = None,
) -> PromotionDecision:
    """Floor first (also with no production yet), then the paired bootstrap against production.

    `paired` is `paired_auc_difference(new - production)` on this run's test split, None when there
    is no production version. Promoted when the new version wins in at least `min_share_better` of
    the resamples AND the 2.5% bound of the difference is above `min_difference_ci_low`.
    """
    checks: dict[str, Any] = {
        "floor": floor.model_dump(),
        "evidence": evidence.model_dump(),
        "test_roc_auc": float(metrics["roc_auc"]),
        "test_accuracy_at_0_5": float(metrics["accuracy_at_0_5"]),
    }
    misses = floor_failures(metrics, floor)
    checks["above_floor"] = not misses
    if misses:
        return PromotionDecision(
            False, "not promoted: under the quality floor: " + "; ".join(misses), checks
        )
    if paired is None:
        return PromotionDecision(
            True, "first version: no production model yet, and above the quality floor", checks
        )
    share = float(paired["share_new_better"])
    low = float(paired["difference_ci_low"])
    checks["share_new_better"] = share
    checks["difference_ci_low"] = low
    enough_wins = share >= evidence.min_share_better
    not_worse = low > evidence.min_difference_ci_low
    evidence_text = (
        f"new better in {share:.0%} of paired resamples (needs >= {evidence.min_share_better:.0%}),"
        f" 95% lower bound of the ROC-AUC difference {low:+.4f} (needs > "
        f"{evidence.min_difference_ci_low:+.4f})"
    )
    if enough_wins and not_worse:
        return PromotionDecision(
            True, f"beats production {production_name or '-'} on evidence: {evidence_text}", checks
        )
    return PromotionDecision(
        False,
        f"not promoted: does not beat production {production_name or '-'} on evidence: "
        f"{evidence_text}",
        checks,
    )


def decide_manual_promotion(
    target: str,
    metrics: Mapping[str, float] | None,
    floor: QualityFloor,
    production_name: str | None,
) -> PromotionDecision:
    """A promotion by hand: the evidence rule is the person's call, the absolute floor is not.

    Refused when the version is already in production, has no recorded test metrics (it was never
    evaluated, so the floor cannot be checked), or is under the floor.
    """
    checks: dict[str, Any] = {"floor": floor.model_dump(), "production_version": production_name}
    if production_name is not None and target == production_name:
        return PromotionDecision(False, f"version {target} is already in production", checks)
    if not metrics or "roc_auc" not in metrics or "accuracy_at_0_5" not in metrics:
        return PromotionDecision(
            False,
            f"version {target} has no recorded test metrics: the floor cannot be checked",
            checks,
        )
    checks["test_roc_auc"] = float(metrics["roc_auc"])
    checks["test_accuracy_at_0_5"] = float(metrics["accuracy_at_0_5"])
    misses = floor_failures(metrics, floor)
    checks["above_floor"] = not misses
    if misses:
        return PromotionDecision(
            False, f"version {target} is under the quality floor: " + "; ".join(misses), checks
        )
    return PromotionDecision(
        True, f"promoted by hand over {production_name or 'no production version'}", checks
    )


def rollback_target(current: str | None, previous: str | None) -> str:
    """The version a rollback puts back: the one production replaced; ValueError when none."""
    if current is None:
        raise ValueError("there is no production version to roll back from")
    if not previous:
        raise ValueError(
            f"production version {current} has no previous production version to roll back to"
        )
    if str(previous) == current:
        raise ValueError(f"production version {current} names itself as its previous version")
    return str(previous)
