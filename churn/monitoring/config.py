"""The monitoring run config (`configs/monitoring.yaml`), validated strictly.

ZenML silently ignores unknown keys in a run config, so a typo such as `min_row: 50` would run with
the default. Everything the monitoring pipeline reads lives under `parameters.config` and is checked
here with `extra="forbid"`; the top-level keys are checked against ZenML's own list by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from churn.config_files import ConfigError, read_yaml_mapping
from churn.monitoring.stattests import CategoricalMethod, Method, NumericMethod, column_kind
from churn.schema import FEATURE_NAMES
from churn.settings import REPO_ROOT

MAX_WHOLE_WINDOW = 1_000_000
"""The largest window read whole (`live_sample_rows: null`): all its rows in one frame."""
MAX_SAMPLED_WINDOW = 10_000_000
"""The largest window at all: a sampled one holds 8 bytes an id (80 MB) and the sample."""


class MonitoringConfig(BaseModel):
    """What one monitoring run compares, how it decides, and what it does about drift."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str | None = Field(
        default=None, description="ZenML model name (default: settings.model_name)"
    )
    prediction_db: str | None = Field(
        default=None, description="SQLAlchemy URL of the prediction log (default: settings)"
    )
    window_rows: int = Field(
        default=2000, ge=1, le=MAX_SAMPLED_WINDOW, description="last N logged rows"
    )
    window_hours: float | None = Field(
        default=None, gt=0, description="only rows logged in the last H hours (optional)"
    )
    live_sample_rows: int | None = Field(
        default=20_000,
        ge=500,
        description="a larger window is compared through a seeded uniform sample of this many "
        "rows (None: every row); recorded in the report and the JSON line",
    )
    min_rows: int = Field(default=500, ge=1, description="fewer live rows: no decision")
    reference_max_rows: int = Field(
        default=5000, ge=100, description="sample the reference down to this many rows"
    )
    drift_share_threshold: float = Field(default=0.05, gt=0, le=1)
    numeric_method: NumericMethod = "wasserstein"
    numeric_threshold: float = Field(default=0.25, gt=0)
    categorical_method: CategoricalMethod = "jensenshannon"
    categorical_threshold: float = Field(default=0.15, gt=0)
    per_column_method: dict[str, Method] = Field(default_factory=dict)
    per_column_threshold: dict[str, float] = Field(default_factory=dict)
    check_prediction_drift: bool = True
    prediction_method: NumericMethod = "wasserstein"
    prediction_threshold: float = Field(default=0.1, gt=0)
    model_artifact: str = Field(
        default="churn_model",
        description="artifact of the model version holding the sklearn pipeline",
    )
    reports_dir: Path | None = Field(default=None, description="default: settings.reports_dir")
    retrain_on_drift: bool = False
    labelled_data_path: Path | None = Field(
        default=None, description="newly labelled customers (Telco CSV with Churn) to train on"
    )
    training_config: Path = Path("configs/training.yaml")
    retrain_timeout_s: int = Field(default=1800, ge=10)
    seed: int = 0
    # realized metrics (outcomes joined to predictions) and automatic rollback
    realized_window_days: float = Field(
        default=30, gt=0, description="outcomes observed in the last D days"
    )
    outcome_lookback_days: float = Field(
        default=90, gt=0, description="a prediction older than this before its outcome: no join"
    )
    bootstrap_samples: int = Field(default=500, ge=0, le=20_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    min_outcomes: int = Field(default=100, ge=1, description="fewer: no rollback decision")
    min_realized_roc_auc: float | None = Field(
        default=None, ge=0, le=1, description="absolute floor for production's realized ROC-AUC"
    )
    rollback_on_degradation: bool = False

    @field_validator("per_column_method", "per_column_threshold")
    @classmethod
    def _known_columns(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(FEATURE_NAMES))
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; features are {list(FEATURE_NAMES)}")
        return value

    @model_validator(mode="after")
    def _whole_windows_fit_in_memory(self) -> MonitoringConfig:
        if self.live_sample_rows is None and self.window_rows > MAX_WHOLE_WINDOW:
            raise ValueError(
                f"window_rows {self.window_rows:,} needs live_sample_rows: a window of more than "
                f"{MAX_WHOLE_WINDOW:,} rows is compared through a sample (unsampled, it is held "
                "whole in memory)"
            )
        return self

    @model_validator(mode="after")
    def _methods_fit_columns(self) -> MonitoringConfig:
        numeric_only = set(NumericMethod.__args__) - set(CategoricalMethod.__args__)  # type: ignore[attr-defined]
        categorical_only = set(CategoricalMethod.__args__) - set(NumericMethod.__args__)  # type: ignore[attr-defined]
        for column, method in self.per_column_method.items():
            kind = column_kind(column)
            if (kind == "numeric" and method in categorical_only) or (
                kind == "categorical" and method in numeric_only
            ):
                raise ValueError(
                    f"per_column_method.{column}: {method!r} does not fit a {kind} column"
                )
        return self

    def method_for(self, column: str) -> tuple[str, float]:
        """The stat test and threshold for one feature column."""
        kind = column_kind(column)
        method = self.per_column_method.get(column) or (
            self.numeric_method if kind == "numeric" else self.categorical_method
        )
        default = self.numeric_threshold if kind == "numeric" else self.categorical_threshold
        return method, self.per_column_threshold.get(column, default)

    def resolve_path(self, path: Path) -> Path:
        return path if path.is_absolute() else REPO_ROOT / path


def _format_errors(exc: ValidationError, prefix: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def parse_config(raw: dict[str, Any] | None, source: str = "config") -> MonitoringConfig:
    """Validate the `config` parameter, raising `ConfigError` naming each bad field."""
    try:
        return MonitoringConfig.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigError(
            f"{source}: invalid monitoring config:\n{_format_errors(exc, 'parameters.config')}"
        ) from None


def load_run_config(path: Path, allowed_top_level: Iterable[str]) -> MonitoringConfig:
    """Read a ZenML run config file and validate its top level and `parameters.config`."""
    data = read_yaml_mapping(path)
    allowed = set(allowed_top_level)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {unknown}; ZenML would ignore them")
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: parameters must be a mapping")
    extra = sorted(set(params) - {"config"})
    if extra:
        raise ConfigError(
            f"{path}: unknown parameter(s) {extra}; put settings under parameters.config"
        )
    return parse_config(params.get("config"), str(path))
