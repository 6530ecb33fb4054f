"""The typed artifacts the pipeline steps hand each other (issue #14: no more plain dicts).

Strict and frozen: a step that writes a misspelt or wrong-typed field fails where it writes it,
not three steps later; a step cannot change what it was given. ZenML stores every `BaseModel`
with its built-in PydanticMaterializer (JSON of `model_dump(mode="json")`, read back with
`model_validate`), so `artifact.load()` gives these classes again.

Where a dict is printed or logged (the `churn monitor` JSON line, metadata, MLflow), `as_json()`
gives the same shape the steps used to pass. The drift decision (`churn.monitoring.decision`)
and the model card (`churn.model_card`) are artifacts too; they live beside the code that
builds them.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from churn.model_card import ModelCard


class Artifact(BaseModel):
    """Base of every step artifact: unknown fields refused, nothing changed after creation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_json(self) -> dict[str, Any]:
        """The JSON-ready dict (what was passed between steps before the artifacts were typed)."""
        return self.model_dump(mode="json")

    def replaced(self, **changes: Any) -> Self:
        """A validated copy with `changes` (pydantic's `model_copy(update=...)` checks nothing)."""
        return self.model_validate({**self.model_dump(), **changes})


class TestMetrics(Artifact):
    """The split model's figures on the held-out test split (`evaluate` -> `promote`)."""

    __test__ = False  # not a pytest test class, despite the name

    roc_auc: float
    pr_auc: float
    log_loss: float
    brier: float
    accuracy: float
    f1: float
    precision: float
    recall: float
    accuracy_at_0_5: float
    threshold: float
    true_negatives: float
    false_positives: float
    false_negatives: float
    true_positives: float
    roc_auc_ci_low: float
    roc_auc_ci_high: float
    accuracy_at_0_5_ci_low: float
    accuracy_at_0_5_ci_high: float

    def as_floats(self) -> dict[str, float]:
        """Name -> value: MLflow's metrics, the card's `metrics`, the promotion rule's input."""
        return {k: float(v) for k, v in self.model_dump().items()}


class CandidateSummary(Artifact):
    """One tuned candidate: its cross-validated scores and where MLflow keeps it."""

    name: str
    cv_roc_auc: float
    cv_roc_auc_std: float
    cv_roc_auc_repeat_std: float
    cv_brier: float
    cv_accuracy_at_0_5: float
    oof_brier: float
    # Out-of-fold reliability curve: {"mean_predicted": [...], "observed": [...]}.
    reliability: dict[str, list[float]]
    fit_seconds: float
    search_seconds: float
    best_params: dict[str, Any]
    mlflow_run_id: str
    model_uri: str


class Candidates(Artifact):
    """`train_candidates`' second output: the chosen candidate and every candidate's scores."""

    chosen: CandidateSummary
    candidates: list[CandidateSummary] = Field(min_length=1)
    search_rows: int | None = None  # rows the searches ran on (a sample of the training split)


class RefitSummary(Artifact):
    """`refit`'s second output: how the served model was fitted (on every labelled row, or a
    stratified sample of `refit_sample_rows` of them; `rows_by_stage["refit"]`)."""

    refit_on_all_rows: bool
    rows: int = Field(ge=1)
    split_model_rows: int = Field(ge=1)
    fit_seconds: float
    # In-sample: the refit model has no held-out rows left.
    in_sample_roc_auc: float
    in_sample_brier: float
    test_rows_mean_abs_change: float
    test_rows_max_abs_change: float
    model_uri: str
    # Rows each stage of the run used (churn.training.sampling.rows_by_stage) and the budgets.
    rows_by_stage: dict[str, int] = Field(default_factory=dict)
    search_sample_rows: int | None = None
    quality_sample_rows: int | None = None
    refit_sample_rows: int | None = None
    bootstrap_sample_rows: int | None = None

    def figures(self) -> dict[str, float]:
        """The numeric fields (logged to MLflow as `refit_<name>`)."""
        caps = {"search_sample_rows", "quality_sample_rows"}
        caps |= {"refit_sample_rows", "bootstrap_sample_rows"}
        return {
            k: float(v)
            for k, v in self.model_dump(exclude={"model_uri", "rows_by_stage", *caps}).items()
        }


class RealizedFigures(Artifact):
    """Realized figures of one (model version, arm); the one home of the fields shared by
    `churn.monitoring.realized.RealizedMetrics` (intervals as `Interval`) and `RealizedArm`."""

    model_version: str
    arm: str
    n: int
    positives: int
    roc_auc: float | None
    precision: float | None
    recall: float | None
    brier: float | None


class RealizedArm(RealizedFigures):
    """`churn.monitoring.realized.RealizedMetrics` as recorded (`as_dict()`: rounded)."""

    # metric -> [low, high] of the bootstrap interval (None where undefined)
    intervals: dict[str, tuple[float | None, float | None]] = Field(default_factory=dict)


class RollbackDecision(Artifact):
    """What `churn.monitoring.rollback.decide_rollback` concluded; recorded in `RealizedReport`
    with its figures rounded to 4 places (`as_dict()`)."""

    degraded: bool | None  # None: no decision (too few outcomes, or a metric undefined)
    production_version: str | None
    previous_version: str | None
    reason: str
    production_roc_auc: float | None = None
    previous_roc_auc: float | None = None
    difference: float | None = None
    difference_upper: float | None = None
    n_production: int = 0
    n_previous: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = self.model_dump()
        for key in ("production_roc_auc", "previous_roc_auc", "difference", "difference_upper"):
            if out[key] is not None:
                out[key] = round(out[key], 4)
        return out


class RealizedReport(Artifact):
    """`evaluate_outcomes` -> `auto_rollback`: the window's realized figures and the decision."""

    window_days: float
    since: str
    n_outcomes: int
    n_joined: int
    metrics: list[RealizedArm]
    decision: RollbackDecision
    # version -> its test-split metrics as its training run recorded them
    offline_test_metrics: dict[str, dict[str, float]] = Field(default_factory=dict)


class _Sparse(Artifact):
    """A result whose unset (None) fields do not apply to what happened: left out of its JSON."""

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class RollbackResult(_Sparse):
    """`auto_rollback`'s output: whether production was rolled back, why, and to what."""

    performed: bool
    reason: str
    error: str | None = None
    # set when performed (churn/control/registry.py `rollback`)
    model: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    mlflow_champion: str | None = None
    bento_model: str | None = None
    actor: str | None = None


class RetrainResult(_Sparse):
    """`retrain_on_drift`'s output; `promoted` and `model_card` are the training run's `promote`
    step outputs, read back through the ZenML client."""

    started: bool
    reason: str | None = None
    from_model_version: str | None = None
    data_path: str | None = None
    labelled_data_path: str | None = None
    warning: str | None = None
    succeeded: bool | None = None
    error: str | None = None
    training_run_name: str | None = None
    training_run_id: str | None = None
    promoted: bool | None = None
    model_card: ModelCard | None = None
