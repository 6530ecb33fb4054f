"""Loading, cleaning and contract-checking of customer CSVs in the Telco schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from churn.schema import (
    FEATURE_NAMES,
    FEATURES,
    FEATURES_BY_NAME,
    FIRST_DATA_LINE,
    ID_COLUMN,
    RAW_COLUMNS,
    TARGET,
    RowProblem,
    validate_rows,
)

MAX_LISTED = 5


@dataclass(frozen=True)
class Violation:
    column: str
    problem: str
    rows: int = 0

    def __str__(self) -> str:
        suffix = f" ({self.rows} rows)" if self.rows else ""
        return f"{self.column}: {self.problem}{suffix}"


class SchemaError(ValueError):
    """The data does not fit the Telco schema; `violations` says where and how."""

    def __init__(self, violations: list[Violation], source: str = "data") -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"{source} does not fit the Telco churn schema:\n{lines}")


@dataclass
class CleanResult:
    frame: pd.DataFrame
    violations: list[Violation] = field(default_factory=list)


def read_raw(path: str | Path) -> pd.DataFrame:
    """Read a CSV as strings, so that cleaning sees exactly what the file holds."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such data file: {path}")
    if path.stat().st_size == 0:
        raise SchemaError([Violation("<file>", "the file is empty")], str(path))
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise SchemaError([Violation("<file>", "the file is empty")], str(path)) from exc
    except pd.errors.ParserError as exc:
        raise SchemaError([Violation("<file>", f"not a readable CSV: {exc}")], str(path)) from exc


def _sample(values: pd.Series) -> str:
    uniq = list(dict.fromkeys(values.astype(str).tolist()))
    shown = ", ".join(repr(v) for v in uniq[:MAX_LISTED])
    return shown + (", ..." if len(uniq) > MAX_LISTED else "")


def _check_columns(df: pd.DataFrame, require_target: bool) -> list[Violation]:
    expected = [c for c in RAW_COLUMNS if c != TARGET or require_target]
    allowed = set(RAW_COLUMNS)
    out = [Violation(c, "missing column") for c in expected if c not in df.columns]
    out += [Violation(c, "unknown column") for c in df.columns if c not in allowed]
    return out


def clean(raw: pd.DataFrame, *, require_target: bool = True) -> CleanResult:
    """Turn a raw Telco frame (strings) into typed data, collecting every contract violation.

    The rows go through the one row validator (`churn.schema.validate_rows`); its problems are
    counted per column here. `TotalCharges` is blank for customers in their first month (tenure
    0): it becomes 0.0. A blank anywhere else is a violation. `Churn` Yes/No becomes 1/0.
    """
    violations = _check_columns(raw, require_target)
    if any(v.problem == "missing column" for v in violations):
        return CleanResult(raw, violations)
    if raw.empty:
        return CleanResult(raw, [Violation("<file>", "no data rows")])
    cols = [c for c in RAW_COLUMNS if c in raw.columns]
    df = raw[cols].apply(lambda s: s.astype(str).str.strip()).reset_index(drop=True)
    valid, problems = validate_rows(df)
    violations += _row_violations(df, problems)
    if ID_COLUMN in df.columns:
        dup = df[ID_COLUMN].duplicated(keep=False) & (df[ID_COLUMN] != "")
        if dup.any():
            violations.append(
                Violation(
                    ID_COLUMN, f"duplicated ids: {_sample(df.loc[dup, ID_COLUMN])}", int(dup.sum())
                )
            )
    if TARGET in df.columns:
        bad = ~df[TARGET].isin(["Yes", "No"])
        if bad.any():
            violations.append(
                Violation(
                    TARGET,
                    f"labels must be Yes/No, found {_sample(df[TARGET][bad])}",
                    int(bad.sum()),
                )
            )
    if violations:
        return CleanResult(df, violations)
    typed = pd.DataFrame([row.record.features() for row in valid], columns=list(FEATURE_NAMES))
    for feat in FEATURES:
        if feat.is_numeric:
            dtype = np.int64 if feat.kind in ("integer", "binary") else np.float64
            typed[feat.name] = typed[feat.name].astype(dtype)
    typed.insert(0, ID_COLUMN, df[ID_COLUMN])
    if TARGET in df.columns:
        typed[TARGET] = (df[TARGET] == "Yes").astype(np.int64)
    return CleanResult(typed, [])


def _row_violations(df: pd.DataFrame, problems: list[RowProblem]) -> list[Violation]:
    """The validator's row problems counted per (column, kind), in column order, with samples."""
    rows: dict[tuple[str, str], list[int]] = {}
    messages: dict[tuple[str, str], str] = {}
    for problem in problems:
        for err in problem.errors:
            key = (err.field, err.problem)
            rows.setdefault(key, []).append(problem.line - FIRST_DATA_LINE)
            messages.setdefault(key, err.message)
    order = {name: i for i, name in enumerate(RAW_COLUMNS)}
    out = []
    for (column, kind), index in sorted(rows.items(), key=lambda kv: order.get(kv[0][0], -1)):
        feat = FEATURES_BY_NAME.get(column)
        sample = _sample(df.loc[index, column]) if column in df.columns else ""
        if kind == "missing values":
            text = kind
        elif kind == "inconsistent":
            text = messages[(column, kind)]
        elif kind == "unknown categories" and feat is not None:
            text = f"unknown categories {sample}; allowed: {list(feat.categories)}"
        else:
            text = f"{kind}: {sample}"
        out.append(Violation(column, text, len(index)))
    return out


def check_file(path: str | Path, *, require_target: bool = True) -> CleanResult:
    """Read and clean a file, returning every violation instead of raising."""
    try:
        raw = read_raw(path)
    except SchemaError as exc:
        return CleanResult(pd.DataFrame(), exc.violations)
    return clean(raw, require_target=require_target)


def load_clean(path: str | Path, *, require_target: bool = True) -> pd.DataFrame:
    """Read, clean and check a Telco CSV; raise `SchemaError` naming every problem."""
    result = check_file(path, require_target=require_target)
    if result.violations:
        raise SchemaError(result.violations, str(path))
    return result.frame
