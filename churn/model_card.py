"""What travels with a trained model: the metadata the pipelines write and the service reads.

The training pipeline saves it as the BentoML model's `metadata` (`card.to_metadata()`); the service
reads it back with `ModelCard.from_metadata(bento_model.info.metadata)`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CandidateScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    cv_roc_auc: float
    cv_roc_auc_std: float | None = None
    fit_seconds: float | None = None
    best_params: dict[str, Any] = Field(default_factory=dict)
    mlflow_run_id: str | None = None
    cv_brier: float | None = None
    # Out-of-fold reliability curve: {"mean_predicted": [...], "observed": [...]} (quantile bins).
    reliability: dict[str, list[float]] | None = None


class ModelCard(BaseModel):
    """Also the `model_card` artifact of the promote step: strict and frozen like the others
    (churn/artifacts.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str = "telco_churn"
    model_version: str
    model_type: str
    threshold: float = Field(ge=0, le=1)
    mlflow_run_id: str | None = None
    trained_at: datetime
    metrics: dict[str, float] = Field(default_factory=dict)
    candidates: list[CandidateScore] = Field(default_factory=list)
    data_md5: str | None = None
    # How the served model was fitted (e.g. refit on all labelled rows after the test split).
    training: dict[str, Any] = Field(default_factory=dict)

    def to_metadata(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> ModelCard:
        return cls.model_validate(metadata)

    def labels(self) -> dict[str, str]:
        """BentoML model labels (strings only)."""
        return {
            "zenml_version": self.model_version,
            "mlflow_run_id": self.mlflow_run_id or "",
            "threshold": f"{self.threshold:.6f}",
            "model_type": self.model_type,
        }
