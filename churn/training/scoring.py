"""Offline batch scoring: row-by-row validation of a customers CSV, then the model's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError
from sklearn.pipeline import Pipeline

from churn.data import SchemaError, clean, read_raw
from churn.schema import (
    FEATURE_NAMES,
    ID_COLUMN,
    RAW_COLUMNS,
    TARGET,
    CustomerRecord,
    coerce_csv_cell,
)


class ScoringInputError(ValueError):
    """The file as a whole cannot be scored (unreadable, or columns missing)."""


def _row_problems(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def split_valid_rows(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that fit the schema (typed, in file order) and a table of the rows that don't.

    The problems table has `line` (1-based data line of the file, header excluded), `customerID`
    and `problems`. Blank `TotalCharges` at tenure 0 is legal (a first-month customer).
    """
    try:
        raw = read_raw(path)
    except SchemaError as exc:
        raise ScoringInputError(str(exc)) from None
    missing = [c for c in FEATURE_NAMES if c not in raw.columns]
    if missing:
        raise ScoringInputError(f"{path}: missing columns {missing}")
    unknown = [c for c in raw.columns if c not in RAW_COLUMNS]
    if unknown:
        raise ScoringInputError(f"{path}: unknown columns {unknown}")
    result = clean(raw, require_target=False)
    if not result.violations:
        return result.frame, _problems_frame([])
    keep: list[int] = []
    records: list[dict] = []
    problems: list[dict] = []
    for i, row in enumerate(raw.to_dict(orient="records")):
        tenure = str(row.get("tenure", ""))
        data = {k: coerce_csv_cell(k, str(v), tenure) for k, v in row.items() if k != TARGET}
        try:
            record = CustomerRecord.model_validate(data)
        except ValidationError as exc:
            problems.append(
                {"line": i + 1, ID_COLUMN: row.get(ID_COLUMN, ""), "problems": _row_problems(exc)}
            )
            continue
        keep.append(i)
        records.append(record.model_dump())
    valid = pd.DataFrame(records, columns=[ID_COLUMN, *FEATURE_NAMES])
    if TARGET in raw.columns and keep:
        valid[TARGET] = raw[TARGET].iloc[keep].to_numpy()
    return valid, _problems_frame(problems)


def _problems_frame(problems: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(problems, columns=["line", ID_COLUMN, "problems"])


def score(pipeline: Pipeline, frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """`frame` with `churn_probability` and `churn_prediction` (probability >= threshold)."""
    out = frame.copy()
    if out.empty:
        out["churn_probability"] = pd.Series(dtype=np.float64)
        out["churn_prediction"] = pd.Series(dtype=bool)
        return out
    proba = pipeline.predict_proba(out[list(FEATURE_NAMES)])[:, 1]
    out["churn_probability"] = proba
    out["churn_prediction"] = proba >= threshold
    return out
