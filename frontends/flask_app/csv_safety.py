"""Spreadsheet formula injection: a cell starting with =, +, -, @, tab or CR runs as a formula in
Excel or LibreOffice. Every CSV the UI writes goes through `neutralise` (OWASP: prefix a quote)."""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """`value` with a leading single quote when it is text that a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells (and column names) cannot start a formula.

    Numbers stay numbers: a negative number is data, not a formula, and only text is rewritten.
    """
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(neutralise_cell)
    safe.columns = [neutralise_cell(str(c)) for c in safe.columns]
    return safe
