"""From per-column drift results to one decision, with the reasons a person can act on."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from churn.artifacts import Artifact
from churn.monitoring.stattests import P_VALUE_METHODS


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class ColumnDrift:
    """One column's test; a (validated) dataclass so the detectors can build it positionally."""

    column: str
    method: str
    threshold: float
    score: float
    drifted: bool


class DriftDecision(Artifact):
    """What a monitoring run concluded (the `drift_decision` artifact). `drift_detected` is None
    when no decision was made."""

    drift_detected: bool | None
    drift_share: float | None
    drifted_features: list[str]
    n_rows: int
    reasons: list[str]
    prediction_drift: ColumnDrift | None = None
    columns: list[ColumnDrift] = Field(default_factory=list)
    report_path: str | None = None
    timestamp: float = 0.0
    model_version: str | None = None
    share_threshold: float | None = None  # the drift share this run decided with
    # Rows in the live window; `n_rows` of them were compared (fewer when the window was sampled).
    window_rows: int | None = None
    sampled: bool = False

    def summary(self) -> dict[str, Any]:
        """The one-line answer `churn monitor` prints."""
        return {
            "drift_detected": self.drift_detected,
            "drift_share": self.drift_share,
            "drifted_features": self.drifted_features,
            "n_rows": self.n_rows,
            "window_rows": self.window_rows if self.window_rows is not None else self.n_rows,
            "sampled": self.sampled,
            "report_path": self.report_path,
            "reasons": self.reasons,
        }

    def to_dict(self) -> dict[str, Any]:
        return self.as_json()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftDecision:
        return cls.model_validate(data)


def severity(column: ColumnDrift) -> float:
    """How far past its threshold a column is (>1 drifted), comparable across methods."""
    if column.method in P_VALUE_METHODS:
        return column.threshold / max(column.score, 1e-300)
    return column.score / column.threshold


def too_few_rows(n_rows: int, min_rows: int) -> DriftDecision:
    return DriftDecision(
        drift_detected=None,
        drift_share=None,
        drifted_features=[],
        n_rows=n_rows,
        reasons=[
            f"too few live rows: {n_rows} < min_rows {min_rows}; no drift decision made "
            "(wait for more traffic or lower min_rows)"
        ],
    )


def decide(
    columns: list[ColumnDrift],
    prediction: ColumnDrift | None,
    share_threshold: float,
    n_rows: int,
    share: float | None = None,
) -> DriftDecision:
    """Drift when the share of drifted features reaches the threshold, or the predictions moved.

    `share` is Evidently's `DriftedColumnsCount` share when the caller has it; it is computed from
    `columns` otherwise (the two agree: same tests, same thresholds).
    """
    drifted = sorted((c for c in columns if c.drifted), key=severity, reverse=True)
    if share is None:
        share = len(drifted) / len(columns) if columns else 0.0
    reasons: list[str] = []
    if share >= share_threshold:
        moved = ", ".join(
            f"{c.column} ({c.method} {c.score:.3f} vs {c.threshold:g})" for c in drifted
        )
        reasons.append(
            f"{len(drifted)} of {len(columns)} features drifted (share {share:.2f} >= "
            f"{share_threshold:g}): {moved}"
        )
    if prediction is not None and prediction.drifted:
        reasons.append(
            f"predicted churn probability drifted ({prediction.method} {prediction.score:.3f} "
            f"vs {prediction.threshold:g})"
        )
    if not reasons:
        reasons.append(
            f"no drift: {len(drifted)} of {len(columns)} features drifted (share {share:.2f} < "
            f"{share_threshold:g})"
            + ("" if prediction is None else f", prediction score {prediction.score:.3f}")
        )
    return DriftDecision(
        drift_detected=share >= share_threshold or bool(prediction and prediction.drifted),
        drift_share=round(share, 6),
        drifted_features=[c.column for c in drifted],
        n_rows=n_rows,
        reasons=reasons,
        prediction_drift=prediction,
        columns=columns,
        share_threshold=share_threshold,
    )
