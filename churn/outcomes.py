"""Outcomes (did the customer actually leave?): the one validator behind both ways in.

`churn outcomes import FILE.csv` and the service's `POST /outcomes` both turn their input into
`Outcome`s here, so a row the CLI refuses is refused by the API for the same reason. Every bad
row is reported (row, column, problem) and nothing is stored when any row is bad.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_BATCH = 10_000
"""Outcomes per `POST /outcomes` body (the CLI streams files of any size in chunks of this)."""
CSV_ID, CSV_CHURN, CSV_OBSERVED = "customerID", "Churn", "observed_at"
CHURN_VALUES = {"yes": True, "no": False, "1": True, "0": False, "true": True, "false": False}
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
"""An outcome observed further in the future than this is a mistake (a wrong zone or year)."""


class Outcome(BaseModel):
    """One observed outcome; `observed_at` defaults to when it is received (UTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    customerID: str = Field(min_length=1, max_length=64)
    churned: bool = Field(strict=True)
    observed_at: dt.datetime | None = None

    @field_validator("observed_at")
    @classmethod
    def _aware_and_not_future(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # a naive time is UTC, as everywhere in the project
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        if value > dt.datetime.now(dt.UTC) + MAX_CLOCK_SKEW:
            raise ValueError("is in the future")
        return value

    def observed(self, received_at: dt.datetime) -> dt.datetime:
        return self.observed_at or received_at


@dataclass(frozen=True)
class Problem:
    """One reason an input was refused: where (`loc`, as the service's error detail) and why."""

    loc: tuple[str | int, ...]
    msg: str

    def text(self) -> str:
        return f"{'.'.join(str(p) for p in self.loc)}: {self.msg}"


class OutcomeInputError(ValueError):
    """Some outcomes are invalid; `problems` names each one. Nothing may be stored."""

    def __init__(self, problems: list[Problem], total: int) -> None:
        self.problems = problems
        shown = "\n".join(f"  - {p.text()}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in {total} outcome(s):\n{shown}{more}")


def _problems(exc: ValidationError, prefix: tuple[str | int, ...]) -> list[Problem]:
    out = []
    for err in exc.errors():
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append(Problem((*prefix, *err["loc"]), msg))
    return out


def validate_outcomes(items: Iterable[Any], prefix: tuple[str | int, ...] = ()) -> list[Outcome]:
    """Validate every item; `OutcomeInputError` listing every problem when any is bad."""
    outcomes: list[Outcome] = []
    problems: list[Problem] = []
    total = 0
    for i, item in enumerate(items):
        total += 1
        if not isinstance(item, Mapping):
            problems.append(Problem((*prefix, i), "must be an object"))
            continue
        try:
            outcomes.append(Outcome.model_validate(dict(item)))
        except ValidationError as exc:
            problems.extend(_problems(exc, (*prefix, i)))
    if problems:
        raise OutcomeInputError(problems, total)
    return outcomes


def validate_body(body: Any) -> list[Outcome]:
    """The `POST /outcomes` body: `{"outcomes": [...]}` with 1..MAX_BATCH items."""
    if not isinstance(body, Mapping):
        raise OutcomeInputError([Problem(("body",), "must be a JSON object")], 0)
    extra = sorted(set(body) - {"outcomes"})
    if extra:
        raise OutcomeInputError([Problem(("body", extra[0]), "unknown field")], 0)
    items = body.get("outcomes")
    if not isinstance(items, list):
        raise OutcomeInputError([Problem(("body", "outcomes"), "must be a list")], 0)
    if not 1 <= len(items) <= MAX_BATCH:
        msg = f"must hold 1 to {MAX_BATCH} outcomes, got {len(items)}"
        raise OutcomeInputError([Problem(("body", "outcomes"), msg)], len(items))
    return validate_outcomes(items, ("body", "outcomes"))


def _csv_record(row: Mapping[str, str | None]) -> dict[str, Any] | Problem:
    raw = (row.get(CSV_CHURN) or "").strip()
    churned = CHURN_VALUES.get(raw.lower())
    if churned is None:
        return Problem((CSV_CHURN,), f"must be Yes or No, got {raw!r}")
    record: dict[str, Any] = {"customerID": row.get(CSV_ID) or "", "churned": churned}
    observed = (row.get(CSV_OBSERVED) or "").strip()
    if observed:
        record["observed_at"] = observed
    return record


def read_csv(path: Path) -> list[Outcome]:
    """A CSV with `customerID`, `Churn` (Yes/No) and optionally `observed_at` (ISO 8601).

    Problems name the file's line number (the header is line 1) and the column.
    """
    problems: list[Problem] = []
    outcomes: list[Outcome] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in (CSV_ID, CSV_CHURN) if c not in header]
        if missing:
            raise OutcomeInputError([Problem(("header",), f"missing column(s) {missing}")], 0)
        reader.fieldnames = header
        total = 0
        for total, row in enumerate(reader, start=1):
            line = total + 1
            record = _csv_record(row)
            if isinstance(record, Problem):
                problems.append(Problem((f"line {line}", *record.loc), record.msg))
                continue
            try:
                outcomes.append(Outcome.model_validate(record))
            except ValidationError as exc:
                for p in _problems(exc, ()):
                    column = {"churned": CSV_CHURN}.get(str(p.loc[0]), str(p.loc[0]))
                    problems.append(Problem((f"line {line}", column), p.msg))
    if problems:
        raise OutcomeInputError(problems, total)
    if not outcomes:
        raise OutcomeInputError([Problem(("file",), "holds no outcome rows")], 0)
    return outcomes
