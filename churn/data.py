"""Loading, cleaning and contract-checking of customer CSVs in the Telco schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from churn.schema import (
    FEATURES,
    FEATURES_BY_NAME,
    FIRST_DATA_LINE,
    ID_COLUMN,
    RAW_COLUMNS,
    TARGET,
    RowProblem,
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

    The rows go through the one row validator (`churn.schema.validate_rows`, behind the vectorised
    screen of `churn.batch.rows`); its problems are counted per column here. `TotalCharges` is
    blank for customers in their first month (tenure 0): it becomes 0.0. A blank anywhere else is
    a violation. `Churn` Yes/No becomes 1/0.
    """
    from churn.batch.rows import check_chunk

    violations = _check_columns(raw, require_target)
    if any(v.problem == "missing column" for v in violations):
        return CleanResult(raw, violations)
    if raw.empty:
        return CleanResult(raw, [Violation("<file>", "no data rows")])
    cols = [c for c in RAW_COLUMNS if c in raw.columns]
    df = raw[cols].apply(lambda s: s.astype(str).str.strip()).reset_index(drop=True)
    chunk = check_chunk(pa.Table.from_pandas(df, preserve_index=False), FIRST_DATA_LINE)
    counter = RowViolations()
    counter.add(chunk.problems, lambda line, column: df.at[line - FIRST_DATA_LINE, column])
    violations += counter.violations()
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
            violations.append(target_violation(int(bad.sum()), df[TARGET][bad]))
    if violations:
        return CleanResult(df, violations)
    typed = chunk.features
    for feat in FEATURES:
        if feat.kind == "categorical":
            typed[feat.name] = typed[feat.name].astype(object)
    typed.insert(0, ID_COLUMN, df[ID_COLUMN])
    if TARGET in df.columns:
        typed[TARGET] = (df[TARGET] == "Yes").astype(np.int64)
    return CleanResult(typed, [])


def target_violation(rows: int, values: pd.Series) -> Violation:
    return Violation(TARGET, f"labels must be Yes/No, found {_sample(values)}", rows)


class RowViolations:
    """The row validator's problems counted per (column, kind), in column order, with samples of
    the values; fed chunk by chunk, so a file of any size keeps a handful of values per kind."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], int] = {}
        self._messages: dict[tuple[str, str], str] = {}
        self._samples: dict[tuple[str, str], dict[str, None]] = {}

    def add(self, problems: list[RowProblem], value_at: Callable[[int, str], object]) -> None:
        """`value_at(line, column)`: the cell as the file holds it (stripped)."""
        for problem in problems:
            for err in problem.errors:
                key = (err.field, err.problem)
                self._rows[key] = self._rows.get(key, 0) + 1
                self._messages.setdefault(key, err.message)
                seen = self._samples.setdefault(key, {})
                if len(seen) <= MAX_LISTED and err.field in RAW_COLUMNS:
                    seen.setdefault(str(value_at(problem.line, err.field)), None)

    def violations(self) -> list[Violation]:
        order = {name: i for i, name in enumerate(RAW_COLUMNS)}
        out = []
        for (column, kind), rows in sorted(
            self._rows.items(), key=lambda kv: order.get(kv[0][0], -1)
        ):
            feat = FEATURES_BY_NAME.get(column)
            sample = _sample(pd.Series(list(self._samples[(column, kind)]), dtype=object))
            if kind == "missing values":
                text = kind
            elif kind == "inconsistent":
                text = self._messages[(column, kind)]
            elif kind == "unknown categories" and feat is not None:
                text = f"unknown categories {sample}; allowed: {list(feat.categories)}"
            else:
                text = f"{kind}: {sample}"
            out.append(Violation(column, text, rows))
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
