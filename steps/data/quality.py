"""The Evidently 0.7 data quality report and its checks against the schema contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from churn.schema import FEATURES, ID_COLUMN, TARGET


@dataclass
class QualityResult:
    html: str
    failed_checks: list[str]
    checks_run: int


def _typed_view(raw: pd.DataFrame) -> pd.DataFrame:
    """Numbers as numbers (unparseable -> missing) so Evidently can check types and ranges."""
    out = raw.copy()
    for feat in FEATURES:
        if feat.kind != "categorical" and feat.name in out:
            out[feat.name] = pd.to_numeric(out[feat.name].replace("", None), errors="coerce")
    return out


def _checks(frame: pd.DataFrame) -> list[Any]:
    from evidently.metrics import (
        DuplicatedRowCount,
        MissingValueCount,
        OutListValueCount,
        OutRangeValueCount,
        RowCount,
        UniqueValueCount,
    )
    from evidently.tests import eq, gt

    checks: list[Any] = [RowCount(tests=[gt(0)]), DuplicatedRowCount(tests=[eq(0)])]
    for feat in FEATURES:
        if feat.name not in frame:
            continue
        if feat.name != "TotalCharges":  # blank TotalCharges is legal at tenure 0
            checks.append(MissingValueCount(column=feat.name, tests=[eq(0)]))
        if feat.kind == "categorical":
            checks.append(
                OutListValueCount(column=feat.name, values=list(feat.categories), tests=[eq(0)])
            )
        else:
            checks.append(
                OutRangeValueCount(
                    column=feat.name, left=feat.minimum, right=feat.maximum, tests=[eq(0)]
                )
            )
    if TARGET in frame:
        checks.append(MissingValueCount(column=TARGET, tests=[eq(0)]))
        checks.append(OutListValueCount(column=TARGET, values=["No", "Yes"], tests=[eq(0)]))
        checks.append(UniqueValueCount(column=TARGET))
    return checks


def quality_report(raw: pd.DataFrame) -> QualityResult:
    """Run DataSummaryPreset plus per-column contract checks; return the HTML and failed checks."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataSummaryPreset

    frame = _typed_view(raw)
    numeric = [f.name for f in FEATURES if f.kind != "categorical" and f.name in frame]
    categorical = [f.name for f in FEATURES if f.kind == "categorical" and f.name in frame]
    if TARGET in frame:
        categorical.append(TARGET)
    definition = DataDefinition(
        id_column=ID_COLUMN if ID_COLUMN in frame else None,
        numerical_columns=numeric,
        categorical_columns=categorical,
    )
    dataset = Dataset.from_pandas(frame, data_definition=definition)
    snapshot = Report([DataSummaryPreset(), *_checks(frame)]).run(dataset)
    tests = snapshot.dict().get("tests", [])
    failed = [
        str(t.get("description") or t.get("name"))
        for t in tests
        if str(getattr(t.get("status"), "value", t.get("status"))) in ("FAIL", "ERROR")
    ]
    return QualityResult(snapshot.get_html_str(as_iframe=False), failed, len(tests))
