"""A chunk of customer rows (Arrow strings) -> typed valid rows and the problems of the others.

The verdict on a row is always the one row validator's (`churn.schema.validate_rows`, the model the
service uses). Running it on every row costs ~20 µs a row, 200 s for ten million, so a vectorised
screen goes first: it accepts a row only when every field is plainly valid (exact categories, a
plain decimal number in range, the cross-field rules), and is stricter than the validator (it trims
only ASCII blanks, it knows no other number spelling). Every row it does not accept goes through
`validate_rows`, which gives the reason or, rarely, accepts it after all (a number spelled
'1_000'). So the result is the validator's, row for row; tests/scale/test_rows.py checks the two
against each other on edge cases.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn.schema import (
    FEATURES,
    FEATURES_BY_NAME,
    FIRST_DATA_LINE,
    ID_COLUMN,
    INTERNET_ADDONS,
    NO_INTERNET,
    NO_PHONE,
    TARGET,
    Feature,
    RowProblem,
    validate_rows,
)

_BLANKS = " \t\r\n\x0b\x0c"
_DECIMAL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$"
_MAX_ID = 64  # CustomerRecord.customerID max_length
_INTEGER_KINDS = ("integer", "binary")


@dataclass
class Chunk:
    """One chunk's verdict on its rows. The rows that pass, in file order: `features` (the 19 model
    inputs, typed) and `table` (id, features and Churn as written out), `valid_rows` their
    positions in the chunk; `problems` carry file line numbers."""

    features: pd.DataFrame
    table: pa.Table
    valid_rows: np.ndarray
    problems: list[RowProblem]
    rows: int


def _trim(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.utf8_trim(pc.fill_null(column, ""), _BLANKS)


def _numbers(text: pa.Array) -> np.ndarray:
    """float64 of plain decimals; NaN for anything else (blank, words, hex, '1_000'). Arrow's
    parser reads a subset of what Python's `float` reads; a column it cannot read whole is
    read again with the words replaced by NaN."""
    try:
        values = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        plain = pc.match_substring_regex(text, _DECIMAL)
        try:
            values = pc.cast(pc.if_else(plain, text, pa.scalar("nan")), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # left to the row validator
            return np.full(len(text), np.nan)
    return np.array(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def _field_ok(feat: Feature, values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        ok = (values >= (feat.minimum or 0)) & (values <= (feat.maximum or 0))
        if feat.kind in _INTEGER_KINDS:
            ok &= np.floor(values) == values
    return np.asarray(ok)


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def screen(table: pa.Table) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(rows plainly valid, typed columns): categories as codes into `Feature.categories`,
    numbers as float64 (whole-number fields hold whole numbers where the row is valid)."""
    ok = np.ones(table.num_rows, dtype=bool)
    typed: dict[str, np.ndarray] = {}
    text: dict[str, pa.Array] = {}
    for feat in FEATURES:
        text[feat.name] = _trim(table.column(feat.name))
        if feat.kind == "categorical":
            codes = pc.index_in(text[feat.name], value_set=pa.array(feat.categories))
            typed[feat.name] = _np(pc.fill_null(codes, -1)).astype(np.int8)
            ok &= typed[feat.name] >= 0
            continue
        typed[feat.name] = _numbers(text[feat.name])
        if feat.name != "TotalCharges":
            ok &= _field_ok(feat, typed[feat.name])
    # a first-month customer (tenure exactly '0') may have a blank TotalCharges: it is 0.0
    first_month = _np(pc.and_(pc.equal(text["TotalCharges"], ""), pc.equal(text["tenure"], "0")))
    typed["TotalCharges"][first_month] = 0.0
    ok &= _field_ok(FEATURES_BY_NAME["TotalCharges"], typed["TotalCharges"])
    ok &= _consistent(typed)
    if ID_COLUMN in table.column_names:  # non-ASCII ids go to the validator (Python's strip)
        ids = table.column(ID_COLUMN)
        ok &= _np(pc.less_equal(pc.utf8_length(_trim(ids)), _MAX_ID))
        ok &= _np(pc.string_is_ascii(pc.fill_null(ids, "")))
    return ok, typed


def _code(name: str, category: str) -> int:
    return FEATURES_BY_NAME[name].categories.index(category)


def _consistent(typed: dict[str, np.ndarray]) -> np.ndarray:
    """The schema's cross-field rules (`churn.schema.consistency_problems`) on category codes."""
    no_phone = typed["PhoneService"] == _code("PhoneService", "No")
    ok = no_phone == (typed["MultipleLines"] == _code("MultipleLines", NO_PHONE))
    no_internet = typed["InternetService"] == _code("InternetService", "No")
    for name in INTERNET_ADDONS:
        ok &= no_internet == (typed[name] == _code(name, NO_INTERNET))
    return ok


def check_chunk(table: pa.Table, first_line: int) -> Chunk:
    """Validate a chunk of string columns whose first row is line `first_line` of the file.

    The table has every feature column (the caller checks the header once per file); an id
    column is optional and any other column (such as `Churn`) is passed through untouched.
    """
    ok, typed = screen(table)
    ids = _ids(table)
    doubtful = np.flatnonzero(~ok)
    problems: list[RowProblem] = []
    if len(doubtful):
        names = [c for c in table.column_names if c != TARGET]
        subset = table.select(names).take(pa.array(doubtful)).to_pylist()
        accepted, problems = validate_rows(subset)
        problems = [
            dataclasses.replace(p, line=first_line + int(doubtful[p.line - FIRST_DATA_LINE]))
            for p in problems
        ]
        if accepted and ids is not None:
            ids = ids.to_pylist()
        for row in accepted:
            at = int(doubtful[row.line - FIRST_DATA_LINE])
            ok[at] = True
            for feat in FEATURES:
                value = getattr(row.record, feat.name)
                typed[feat.name][at] = (
                    _code(feat.name, value) if feat.kind == "categorical" else value
                )
            if isinstance(ids, list):
                ids[at] = row.record.customerID
    keep = np.flatnonzero(ok)
    frame: dict[str, object] = {}
    out: dict[str, pa.Array] = {}
    if ids is not None:
        id_array = pa.array(ids, pa.string()) if isinstance(ids, list) else ids
        out[ID_COLUMN] = id_array.take(pa.array(keep))
    for feat in FEATURES:
        values = typed[feat.name][keep]
        if feat.kind == "categorical":
            frame[feat.name] = pd.Categorical.from_codes(values, categories=feat.categories)
            out[feat.name] = pc.take(pa.array(feat.categories), pa.array(values))
        else:
            if feat.kind in _INTEGER_KINDS:
                values = values.astype(np.int64)
            frame[feat.name] = values
            out[feat.name] = pa.array(values)
    if TARGET in table.column_names:
        out[TARGET] = table.column(TARGET).take(pa.array(keep))
    return Chunk(pd.DataFrame(frame), pa.table(out), keep, problems, table.num_rows)


def _ids(table: pa.Table) -> pa.Array | None:
    """The trimmed ids, blank as null (`coerce_csv_cell`: a blank id is no id)."""
    if ID_COLUMN not in table.column_names:
        return None
    ids = _trim(table.column(ID_COLUMN))
    return pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids)
