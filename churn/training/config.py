"""The training run config (`configs/training*.yaml`), validated strictly.

ZenML silently ignores unknown top-level keys of a run config, so a typo such as `paramters:` would
train with the defaults. `load_run_config` rejects unknown keys anywhere we own, naming them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from churn.config_files import ConfigError, read_yaml_mapping
from churn.settings import get_settings
from churn.training.promotion import EvidenceRule, QualityFloor

CAP_NAMES = (
    "search_sample_rows",
    "refit_sample_rows",
    "bootstrap_sample_rows",
    "quality_sample_rows",
)


class TrainingParams(BaseModel):
    """The `parameters:` of the training pipeline."""

    model_config = ConfigDict(extra="forbid")

    data_path: str = Field(default_factory=lambda: str(get_settings().default_data))
    feature_store_labels: str | None = Field(
        default=None,
        description="outcomes (customerID, Churn, observed_at): set, the data set is these joined "
        "to the feature store's attributes as of each observed_at (`churn features "
        "training-set`, docs/features.md) instead of data_path",
    )
    test_size: float = Field(default=0.2, gt=0.05, lt=0.5)
    seed: int = 42
    cv_folds: int = Field(default=5, ge=2, le=20)
    cv_repeats: int = Field(default=3, ge=1, le=20)
    promotion: EvidenceRule = Field(default_factory=EvidenceRule)
    quality_floor: QualityFloor = Field(default_factory=QualityFloor)
    offer_cost: float = Field(default=50.0, gt=0)
    saved_customer_value: float = Field(default=150.0, gt=0)
    grids: dict[str, dict[str, list[Any]]] = Field(default_factory=dict)
    search_jobs: int = Field(
        default=1,
        ge=1,
        le=64,
        description="fits of the searches and out-of-fold predictions run side by side in this "
        "many worker processes (each single-threaded); the figures are the same for any value",
    )
    # Row caps (churn/training/sampling.py, docs/training.md "Row caps"); None: every row. A set
    # below a cap is used whole. The contract check always reads every row.
    search_sample_rows: int | None = Field(
        default=None, ge=1000, description="stratified sample of the training split for selection"
    )
    quality_sample_rows: int | None = Field(
        default=None, ge=1000, description="random sample for the Evidently data quality report"
    )
    refit_sample_rows: int | None = Field(
        default=None,
        ge=1000,
        description="stratified sample the split model (of the training split) and the served "
        "model (of every labelled row) are fitted on",
    )
    bootstrap_sample_rows: int | None = Field(
        default=None,
        ge=1000,
        description="stratified sample of the test split: the test metrics, their bootstrap "
        "intervals and the promotion's paired bootstrap",
    )

    def caps(self) -> dict[str, int | None]:
        """The row caps by name (MLflow params, the model card)."""
        return {name: getattr(self, name) for name in CAP_NAMES}

    @field_validator("grids")
    @classmethod
    def _known_candidates(cls, grids: dict[str, dict[str, list[Any]]]) -> dict:
        from churn.training.candidates import FAMILIES  # the one declaration of each family

        unknown = sorted(set(grids) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown candidates {unknown}; known: {list(FAMILIES)}")
        for name, grid in grids.items():
            empty = [k for k, v in grid.items() if not v]
            if empty:
                raise ValueError(f"{name}: empty value list for {empty}")
        return grids


class RunConfigFile(BaseModel):
    """The top level of a ZenML run config, restricted to the keys this project uses."""

    model_config = ConfigDict(extra="forbid")

    enable_cache: bool | None = None
    enable_artifact_metadata: bool | None = None
    enable_step_logs: bool | None = None
    run_name: str | None = None
    parameters: TrainingParams = Field(default_factory=TrainingParams)
    settings: dict[str, Any] = Field(default_factory=dict)
    steps: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<top>"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def validate_params(values: dict[str, Any], source: str = "parameters") -> TrainingParams:
    try:
        return TrainingParams.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"invalid training {source}:\n{_describe(exc)}") from None


def load_run_config(path: str | Path) -> RunConfigFile:
    """Read and strictly validate a training run config file."""
    path = Path(path)
    raw = read_yaml_mapping(path)
    try:
        return RunConfigFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid run config {path}:\n{_describe(exc)}") from None
