"""The Evidently 0.7 drift report: feature drift, prediction drift, a data summary of the window."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from evidently.presets import DataDriftPreset, DataSummaryPreset

from churn.monitoring.config import MonitoringConfig
from churn.monitoring.decision import ColumnDrift
from churn.monitoring.stattests import PREDICTION_COLUMN, column_kind, is_drifted
from churn.schema import FEATURE_NAMES


@dataclass
class DriftAnalysis:
    columns: list[ColumnDrift]
    prediction: ColumnDrift | None
    drift_share: float
    quality: dict[str, float]
    html: str


def _definition(with_prediction: bool) -> DataDefinition:
    numeric = [c for c in FEATURE_NAMES if column_kind(c) == "numeric"]
    categorical = [c for c in FEATURE_NAMES if column_kind(c) == "categorical"]
    if with_prediction:
        numeric.append(PREDICTION_COLUMN)
    return DataDefinition(numerical_columns=numeric, categorical_columns=categorical)


def _frame(features: pd.DataFrame, prediction: pd.Series | None) -> pd.DataFrame:
    out = features[list(FEATURE_NAMES)].reset_index(drop=True)
    if prediction is not None:
        out[PREDICTION_COLUMN] = pd.Series(prediction).to_numpy(dtype="float64")
    return out


def build_report(cfg: MonitoringConfig, with_prediction: bool) -> Report:
    methods = {c: cfg.method_for(c) for c in FEATURE_NAMES}
    metrics: list[Any] = [
        DataDriftPreset(
            columns=list(FEATURE_NAMES),
            drift_share=cfg.drift_share_threshold,
            per_column_method={c: m for c, (m, _) in methods.items()},
            per_column_threshold={c: t for c, (_, t) in methods.items()},
        )
    ]
    if with_prediction:
        metrics.append(
            ValueDrift(
                column=PREDICTION_COLUMN,
                method=cfg.prediction_method,
                threshold=cfg.prediction_threshold,
            )
        )
    metrics.append(DataSummaryPreset())
    return Report(metrics)


QUALITY_METRICS = {
    "RowCount": "current_rows",
    "DatasetMissingValueCount": "current_missing_values",
    "DuplicatedRowCount": "current_duplicated_rows",
    "EmptyRowsCount": "current_empty_rows",
}


def _count(value: Any) -> float:
    return float(value["count"] if isinstance(value, dict) else value)


def _value(metric: dict[str, Any], kind: str) -> bool:
    return str(metric["config"].get("type", "")).endswith(f":{kind}")


def analyse(
    cfg: MonitoringConfig,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    reference_prediction: pd.Series | None = None,
    current_prediction: pd.Series | None = None,
    render_html: bool = True,
) -> DriftAnalysis:
    """Run the report and read the per-column results back from the snapshot."""
    with_prediction = reference_prediction is not None and current_prediction is not None
    definition = _definition(with_prediction)
    ref = Dataset.from_pandas(
        _frame(reference, reference_prediction if with_prediction else None),
        data_definition=definition,
    )
    cur = Dataset.from_pandas(
        _frame(current, current_prediction if with_prediction else None),
        data_definition=definition,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = build_report(cfg, with_prediction).run(cur, ref)
        html = snapshot.get_html_str(as_iframe=False) if render_html else ""
    metrics = snapshot.dict()["metrics"]

    columns: list[ColumnDrift] = []
    prediction: ColumnDrift | None = None
    share = 0.0
    quality: dict[str, float] = {}
    for metric in metrics:
        config = metric["config"]
        if _value(metric, "DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif _value(metric, "ValueDrift"):
            method, threshold, score = config["method"], float(config["threshold"]), metric["value"]
            result = ColumnDrift(
                column=config["column"],
                method=method,
                threshold=threshold,
                score=round(float(score), 6),
                drifted=is_drifted(method, float(score), threshold),
            )
            if result.column == PREDICTION_COLUMN:
                prediction = result
            else:
                columns.append(result)
        else:
            for kind, key in QUALITY_METRICS.items():
                if _value(metric, kind):
                    quality[key] = _count(metric["value"])
    return DriftAnalysis(columns, prediction, share, quality, html)
