"""Loading, cleaning and contract-checking of customer CSVs in the Telco schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from churn.schema import (
    FEATURES,
    ID_COLUMN,
    INTERNET_ADDONS,
    NO_INTERNET,
    NO_PHONE,
    RAW_COLUMNS,
    TARGET,
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

    `TotalCharges` is blank for customers in their first month (tenure 0): it becomes 0.0. A blank
    anywhere else is a violation. `Churn` Yes/No becomes 1/0.
    """
    violations = _check_columns(raw, require_target)
    if any(v.problem == "missing column" for v in violations):
        return CleanResult(raw, violations)
    if raw.empty:
        return CleanResult(raw, [Violation("<file>", "no data rows")])
    cols = [c for c in RAW_COLUMNS if c in raw.columns]
    df = raw[cols].apply(lambda s: s.astype(str).str.strip())

    for feat in FEATURES:
        col = df[feat.name]
        if feat.kind == "categorical":
            bad = ~col.isin(feat.categories)
            if bad.any():
                violations.append(
                    Violation(
                        feat.name,
                        f"unknown categories {_sample(col[bad])}; allowed: {list(feat.categories)}",
                        int(bad.sum()),
                    )
                )
            continue
        blank = col == ""
        if feat.name == "TotalCharges":
            tenure0 = pd.to_numeric(df["tenure"], errors="coerce") == 0
            col = col.mask(blank & tenure0, "0")
            blank = blank & ~tenure0
        values = pd.to_numeric(col, errors="coerce")
        if blank.any():
            violations.append(Violation(feat.name, "missing values", int(blank.sum())))
        not_number = values.isna() & ~blank
        if not_number.any():
            violations.append(
                Violation(
                    feat.name, f"not a number: {_sample(col[not_number])}", int(not_number.sum())
                )
            )
        ok = values.notna()
        if feat.kind in ("integer", "binary"):
            frac = ok & (values != values.round())
            if frac.any():
                violations.append(
                    Violation(
                        feat.name, f"not a whole number: {_sample(col[frac])}", int(frac.sum())
                    )
                )
        lo, hi = feat.minimum, feat.maximum
        out_of_range = ok & ((values < lo) | (values > hi) | ~np.isfinite(values))
        if out_of_range.any():
            violations.append(
                Violation(
                    feat.name,
                    f"out of range [{lo}, {hi}]: {_sample(col[out_of_range])}",
                    int(out_of_range.sum()),
                )
            )
        df[feat.name] = values

    violations += _consistency(df)
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
        else:
            df[TARGET] = (df[TARGET] == "Yes").astype(np.int64)
    if violations:
        return CleanResult(df, violations)
    for feat in FEATURES:
        if feat.kind in ("integer", "binary"):
            df[feat.name] = df[feat.name].astype(np.int64)
        elif feat.kind == "numeric":
            df[feat.name] = df[feat.name].astype(np.float64)
    return CleanResult(df.reset_index(drop=True), [])


def _consistency(df: pd.DataFrame) -> list[Violation]:
    out: list[Violation] = []
    no_phone = df["PhoneService"] == "No"
    bad = no_phone != (df["MultipleLines"] == NO_PHONE)
    if bad.any():
        out.append(
            Violation(
                "MultipleLines",
                f"must be '{NO_PHONE}' exactly when PhoneService is 'No'",
                int(bad.sum()),
            )
        )
    no_internet = df["InternetService"] == "No"
    for name in INTERNET_ADDONS:
        bad = no_internet != (df[name] == NO_INTERNET)
        if bad.any():
            out.append(
                Violation(
                    name,
                    f"must be '{NO_INTERNET}' exactly when InternetService is 'No'",
                    int(bad.sum()),
                )
            )
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
