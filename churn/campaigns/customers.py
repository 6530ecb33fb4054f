"""Reading a customers file in chunks, so that a plan over a whole customer base holds one chunk
(plus the top N) in memory, never the file. Rows are checked by the one row validator
(`churn.schema.validate_rows`) and numbered as lines of the file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from churn.schema import FEATURE_NAMES, ID_COLUMN, RAW_COLUMNS, validate_rows
from churn.training.scoring import ScoringInputError

CHUNK_ROWS = 50_000
MAX_SHOWN = 20


@dataclass
class Problems:
    """Bad rows across all chunks: the count and the first few, as `line N: reason`."""

    count: int = 0
    shown: list[str] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self.shown) < MAX_SHOWN:
            self.shown.append(f"line {line}: {reason}")


def valid_chunks(
    path: Path, problems: Problems, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Typed frames of the valid rows (customerID and the 19 features), chunk by chunk; a row
    without a customerID is a problem too (a campaign has to find the customer again)."""
    try:
        reader = pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, chunksize=chunk_rows
        )
        offset = 0
        for raw in reader:
            if offset == 0:
                missing = [c for c in (ID_COLUMN, *FEATURE_NAMES) if c not in raw.columns]
                unknown = [c for c in raw.columns if c not in RAW_COLUMNS]
                if missing or unknown:
                    raise ScoringInputError(
                        f"{path}: missing columns {missing}" if missing
                        else f"{path}: unknown columns {unknown}"
                    )  # fmt: skip
            rows, bad = validate_rows(raw)
            for p in bad:
                problems.add(p.line + offset, p.reason)
            records = []
            for row in rows:
                if not row.record.customerID:
                    problems.add(row.line + offset, f"{ID_COLUMN}: is empty")
                else:
                    records.append(row.record.model_dump())
            offset += len(raw)
            yield pd.DataFrame(records, columns=[ID_COLUMN, *FEATURE_NAMES])
        if offset == 0:
            raise ScoringInputError(f"{path}: holds no customer rows")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ScoringInputError(f"{path}: not a readable CSV ({exc})") from None
