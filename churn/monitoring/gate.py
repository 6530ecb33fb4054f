"""The CI/CD retraining gate: whether a pipeline run should train (and ship) a new model."""

from __future__ import annotations

from typing import Any

RETRAIN_EVENTS = frozenset({"schedule"})


def should_retrain(summary: dict[str, Any], event: str, force: bool) -> tuple[bool, str]:
    """Train when live traffic drifted, when nothing is in production yet, on the weekly schedule,
    or when a person asked for it; the reason says which."""
    if "drift_detected" not in summary:
        raise ValueError(
            "drift summary has no 'drift_detected' field: was it written by churn monitor?"
        )
    if force:
        return True, "forced by workflow_dispatch input force_retrain"
    if summary["drift_detected"]:
        drifted = ", ".join(summary.get("drifted_features") or []) or "prediction"
        return True, f"drift detected ({drifted})"
    if summary.get("production_version") is None:
        return True, "no production model yet"
    if event in RETRAIN_EVENTS:
        return True, f"scheduled run ({event})"
    return False, f"no drift in production version {summary['production_version']}"
