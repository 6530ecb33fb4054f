"""Offline batch scoring: row-by-row validation of a customers CSV, then the model's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from churn.data import SchemaError, read_raw
from churn.schema import (
    FEATURE_NAMES,
    FIRST_DATA_LINE,
    ID_COLUMN,
    RAW_COLUMNS,
    TARGET,
    validate_rows,
)


class ScoringInputError(ValueError):
    """The file as a whole cannot be scored (unreadable, or columns missing)."""


def split_valid_rows(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that fit the schema (typed, in file order) and a table of the rows that don't.

    The problems table has `line` (line of the file: the header is line 1, as everywhere, see
    `churn.schema.FIRST_DATA_LINE`), `customerID` and `problems`. Blank `TotalCharges` at tenure 0
    is legal (a first-month customer). Rows are checked by `churn.schema.validate_rows`.
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
    valid_rows, problems = validate_rows(raw)
    valid = pd.DataFrame(
        [row.record.model_dump() for row in valid_rows], columns=[ID_COLUMN, *FEATURE_NAMES]
    )
    if TARGET in raw.columns and valid_rows:
        keep = [row.line - FIRST_DATA_LINE for row in valid_rows]
        valid[TARGET] = raw[TARGET].iloc[keep].to_numpy()
    table = [{"line": p.line, ID_COLUMN: p.customer_id, "problems": p.reason} for p in problems]
    return valid, pd.DataFrame(table, columns=["line", ID_COLUMN, "problems"])


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
