"""Reading an uploaded customer CSV row by row: the valid rows get scored, the others get a reason.

Each row is checked by `churn.schema.validate_rows` (the one row validator, with the model the
service uses), so a row the frontend accepts is a row the service accepts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import ValidationError

from churn.schema import (
    FEATURE_NAMES,
    ID_COLUMN,
    TARGET,
    CustomerRecord,
    RowProblem,
    field_errors,
    validate_rows,
)


class UploadError(ValueError):
    """The file as a whole cannot be read as customers (not a CSV, missing columns, too big)."""


@dataclass
class ParsedCustomers:
    records: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def validation_messages(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, message) pairs from a pydantic error; field is '' for cross-field rules."""
    return [(e.field, e.message) for e in field_errors(exc)]


def parse_frame(raw: pd.DataFrame) -> ParsedCustomers:
    """Check every row of a string frame in the Telco layout (`churn.schema.validate_rows`)."""
    missing = [c for c in FEATURE_NAMES if c not in raw.columns]
    if missing:
        raise UploadError(f"missing columns: {', '.join(missing)}")
    known = {*FEATURE_NAMES, ID_COLUMN, TARGET}
    valid, problems = validate_rows(raw.astype(str))
    return ParsedCustomers(
        records=[row.record.model_dump(exclude_none=True) for row in valid],
        lines=[row.line for row in valid],
        problems=problems,
        ignored_columns=[c for c in raw.columns if c not in known],
    )


def parse_csv(data: bytes, *, max_rows: int) -> ParsedCustomers:
    """Parse uploaded CSV bytes; raise `UploadError` with a readable reason for file faults."""
    if not data.strip():
        raise UploadError("the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError("the file is not UTF-8 text; upload a CSV file") from exc
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UploadError(f"the file is not a readable CSV ({exc})") from exc
    if raw.empty:
        raise UploadError("the file has a header but no customer rows")
    if len(raw) > max_rows:
        raise UploadError(f"the file has {len(raw):,} rows; the limit is {max_rows:,}")
    raw.columns = [str(c).strip() for c in raw.columns]
    return parse_frame(raw)


def records_from_frame(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Typed generator output -> JSON-ready records (plain Python types, schema-checked)."""
    columns = [c for c in (ID_COLUMN, *FEATURE_NAMES) if c in df.columns]
    return [
        CustomerRecord.model_validate(row).model_dump(exclude_none=True)
        for row in df[columns].to_dict("records")
    ]
