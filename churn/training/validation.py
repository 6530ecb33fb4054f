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
