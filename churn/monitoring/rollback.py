"""The automatic-rollback rule: when realized outcomes say production is worse, put back the
previous production version. Pure: the monitoring step reads the stores and acts on the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from churn.artifacts import RollbackDecision
from churn.monitoring.realized import auc_difference, roc_auc


@dataclass(frozen=True)
class RollbackRule:
    min_outcomes: int = 100
    """Fewer joined outcomes for production (or, for the comparison, the previous version): no
    decision."""
    min_realized_roc_auc: float | None = None
    """Absolute floor: production's realized ROC-AUC under it is degraded, whatever came before."""
    confidence: float = 0.95
    """Production is worse when the one-sided `confidence` upper bound of the bootstrap
    difference AUC(production) - AUC(previous) is below zero."""
    bootstrap_samples: int = 500
    seed: int = 0


def _auc(rows: pd.DataFrame) -> float | None:
    if rows.empty:
        return None
    return roc_auc(rows["churned"].to_numpy(dtype=int), rows["churn_probability"].to_numpy(float))


def decide_rollback(
    production_version: str | None,
    previous_version: str | None,
    production: pd.DataFrame,
    previous: pd.DataFrame,
    rule: RollbackRule,
) -> RollbackDecision:
    """`production`/`previous`: each version's joined outcomes (churned, churn_probability) over
    the same window. Degraded when production's ROC-AUC is under the floor, or worse than the
    previous version's with the configured confidence; never on fewer than `min_outcomes`."""
    base: dict[str, Any] = {
        "production_version": production_version,
        "previous_version": previous_version,
        "n_production": len(production),
        "n_previous": len(previous),
    }
    if production_version is None:
        return RollbackDecision(degraded=None, reason="no production version", **base)
    if len(production) < rule.min_outcomes:
        return RollbackDecision(
            degraded=None,
            reason=f"too few outcomes for production version {production_version}: "
            f"{len(production)} < min_outcomes {rule.min_outcomes}; no decision",
            **base,
        )
    auc = _auc(production)
    if auc is None:
        return RollbackDecision(
            degraded=None,
            reason=f"realized ROC-AUC of version {production_version} is undefined "
            f"(its {len(production)} outcomes are all one class); no decision",
            **base,
        )
    base["production_roc_auc"] = auc
    reasons: list[str] = []
    if rule.min_realized_roc_auc is not None and auc < rule.min_realized_roc_auc:
        reasons.append(
            f"realized ROC-AUC of production version {production_version} is {auc:.3f} "
            f"on {len(production)} outcomes, under the floor min_realized_roc_auc "
            f"{rule.min_realized_roc_auc:g}"
        )
    if previous_version is None or len(previous) < rule.min_outcomes:
        why = (
            "no previous production version"
            if previous_version is None
            else f"too few outcomes for previous version {previous_version}: "
            f"{len(previous)} < min_outcomes {rule.min_outcomes}"
        )
        if reasons:
            return RollbackDecision(
                degraded=True, reason=f"{reasons[0]} ({why} to compare with)", **base
            )
        return RollbackDecision(
            degraded=False,
            reason=f"realized ROC-AUC {auc:.3f} of version {production_version} is not under "
            f"the floor; {why}, so no comparison",
            **base,
        )
    diff, upper = auc_difference(
        production, previous, rule.bootstrap_samples, rule.confidence, rule.seed
    )
    prev_auc = _auc(previous)
    base.update(previous_roc_auc=prev_auc, difference=diff, difference_upper=upper)
    if diff is None or upper is None or prev_auc is None:
        if reasons:
            return RollbackDecision(degraded=True, reason=reasons[0], **base)
        return RollbackDecision(
            degraded=None,
            reason=f"realized ROC-AUC of previous version {previous_version} is undefined; "
            "no comparison",
            **base,
        )
    figures = (
        f"realized ROC-AUC {auc:.3f} (n={len(production)}) for production version "
        f"{production_version} vs {prev_auc:.3f} (n={len(previous)}) for previous version "
        f"{previous_version}: difference {diff:+.3f}, {rule.confidence:.0%} upper bound "
        f"{upper:+.3f}"
    )
    if upper < 0:
        reasons.insert(0, f"{figures} < 0: production is worse")
    if reasons:
        return RollbackDecision(degraded=True, reason="; ".join(reasons), **base)
    return RollbackDecision(degraded=False, reason=f"{figures} >= 0: not shown worse", **base)
