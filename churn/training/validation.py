"""The full list of contract violations of a training frame, also when columns are missing.

`churn.data.clean` stops at missing columns (nothing else can be typed safely). For a training
run we want every problem in one report, so the missing columns are filled with a valid
placeholder, the rest is checked, and problems caused by the placeholders are dropped.
"""

from __future__ import annotations

import pandas as pd

from churn.data import CleanResult, Violation, clean
from churn.schema import FEATURES, ID_COLUMN, RAW_COLUMNS, TARGET


def _placeholder(column: str, n: int) -> list[str]:
    if column == ID_COLUMN:
        return [f"placeholder-{i}" for i in range(n)]
    if column == TARGET:
        return ["No"] * n
    feat = next(f for f in FEATURES if f.name == column)
    value = feat.categories[0] if feat.categories else str(int(feat.minimum or 0))
    return [value] * n


def contract_violations(raw: pd.DataFrame) -> CleanResult:
    """`clean(raw)`, but with every violation of the present columns when some are missing."""
    result = clean(raw, require_target=True)
    missing = [v.column for v in result.violations if v.problem == "missing column"]
    if not missing or raw.empty:
        return result
    filled = raw.copy()
    for column in missing:
        filled[column] = _placeholder(column, len(filled))
    rest = clean(filled[[c for c in RAW_COLUMNS if c in filled]], require_target=True)
    # Drop what the placeholders caused: their own column, or a rule that refers to them.
    others = [
        v
        for v in rest.violations
        if v.column not in missing and not any(m in v.problem for m in missing)
    ]
    unknown = [v for v in result.violations if v.problem == "unknown column"]
    violations: list[Violation] = [Violation(c, "missing column") for c in missing]
    return CleanResult(raw, violations + unknown + others)


CHUNK_ROWS = 50_000
"""Rows checked at once: the row validator holds ~4.5 KB per row, so a 1M-row file is checked in
pieces and only the compact typed rows are kept (a 1M-row check held ~4.5 GB in one piece)."""


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """The typed chunk with its category columns as pandas categoricals on the schema's values
    (1 byte a cell instead of a pointer to a string), so the chunks concatenate cheaply."""
    out = frame.copy()
    for feat in FEATURES:
        if feat.kind == "categorical" and feat.name in out:
            out[feat.name] = pd.Categorical(out[feat.name], categories=list(feat.categories))
    return out


def _merge(violations: list[Violation]) -> list[Violation]:
    """The same problem found in several chunks: one line, the rows added up, first-seen order."""
    merged: dict[tuple[str, str], int] = {}
    for v in violations:
        merged[(v.column, v.problem)] = merged.get((v.column, v.problem), 0) + v.rows
    return [Violation(column, problem, rows) for (column, problem), rows in merged.items()]


def _duplicated_ids(raw: pd.DataFrame) -> list[Violation]:
    """Duplicates across the whole file (each chunk alone sees only its own)."""
    if ID_COLUMN not in raw.columns:
        return []
    ids = raw[ID_COLUMN].astype(str).str.strip()
    dup = ids.duplicated(keep=False) & (ids != "")
    if not dup.any():
        return []
    shown = list(dict.fromkeys(ids[dup].head(1000).tolist()))
    sample = ", ".join(repr(v) for v in shown[:5]) + (", ..." if len(shown) > 5 else "")
    return [Violation(ID_COLUMN, f"duplicated ids: {sample}", int(dup.sum()))]


def check_in_chunks(raw: pd.DataFrame, chunk_rows: int = CHUNK_ROWS) -> CleanResult:
    """`contract_violations(raw)` a chunk at a time: the same violations (counts summed over the
    chunks, duplicate ids checked over the whole file) and, when there are none, the same typed
    frame. Peak memory follows the chunk, not the file: the kept rows are compact until the end,
    where every category cell becomes a pointer to one shared string per category.
    """
    if len(raw) <= chunk_rows:
        return contract_violations(raw)
    typed: list[pd.DataFrame] = []
    found: list[Violation] = []
    for start in range(0, len(raw), chunk_rows):
        result = contract_violations(raw.iloc[start : start + chunk_rows])
        found += [v for v in result.violations if not v.problem.startswith("duplicated ids")]
        if not found:
            typed.append(_compact(result.frame))
    found = _merge(found) + _duplicated_ids(raw)
    if found:
        return CleanResult(raw, found)
    frame = pd.concat(typed, ignore_index=True)
    for feat in FEATURES:
        if feat.kind == "categorical":
            frame[feat.name] = frame[feat.name].astype(object)
    return CleanResult(frame, [])
