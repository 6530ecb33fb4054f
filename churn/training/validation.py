"""The training file's contract check: every violation, a chunk at a time, also when columns are
missing; the valid file as one compact typed frame.

`churn.data.clean` stops at missing columns (nothing else can be typed safely). For a training
run we want every problem in one report, so the missing columns are filled with a valid
placeholder, the rest is checked, and problems caused by the placeholders are dropped. The file is
read as `churn validate` reads it (`churn.batch.files.read_chunks`: CSV or Parquet, in chunks),
every row through the one row validator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn.data import CleanResult, Violation, clean
from churn.schema import FEATURES, FIRST_DATA_LINE, ID_COLUMN, RAW_COLUMNS, TARGET
from churn.training.frames import compact


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


CHUNK_ROWS = 100_000
"""Rows read and checked at once (`churn validate`'s chunk): memory follows the chunk, not the
file; only the compact typed rows are kept (`churn.training.frames`)."""

RowsRead = Callable[[int], None]
"""Told the rows read so far after each chunk (the validate step logs them)."""

Keep = Callable[[pd.DataFrame], None]
"""Given each valid chunk as a compact frame, while no violation has been found."""


def _merge(violations: list[Violation]) -> list[Violation]:
    """The same problem found in several chunks: one line, the rows added up, first-seen order."""
    merged: dict[tuple[str, str], int] = {}
    for v in violations:
        merged[(v.column, v.problem)] = merged.get((v.column, v.problem), 0) + v.rows
    return [Violation(column, problem, rows) for (column, problem), rows in merged.items()]


class _Ids:
    """Duplicate ids across the whole file from 8 bytes a row (a 64-bit hash of each id; a false
    match is ~1e-6 at 10M rows), with a few of the duplicated ids to name."""

    def __init__(self) -> None:
        self.hashes: list[np.ndarray] = []
        self.names: dict[int, str] = {}

    def add(self, ids: pd.Series, stripped: bool = False) -> None:
        ids = ids if stripped else ids.astype(str).str.strip()
        ids = ids[ids != ""]
        hashes = np.asarray(pd.util.hash_array(ids.to_numpy(dtype=object)), dtype=np.uint64)
        self.hashes.append(hashes)
        if len(self.names) < 100_000:  # the first ids, to name a duplicate of one of them
            self.names.update(zip(hashes[:1000].tolist(), ids.head(1000), strict=True))

    def violations(self) -> list[Violation]:
        if not self.hashes:
            return []
        values = np.sort(np.concatenate(self.hashes))
        same = values[1:] == values[:-1]
        if not same.any():
            return []
        mark = np.zeros(len(values), dtype=bool)
        mark[1:] |= same
        mark[:-1] |= same
        dups = list(dict.fromkeys(values[1:][same].tolist()))
        shown = [repr(self.names[h]) for h in dups if h in self.names][:5]
        sample = ", ".join(shown) + (", ..." if len(dups) > len(shown) else "")
        return [Violation(ID_COLUMN, f"duplicated ids: {sample or '...'}", int(mark.sum()))]


def _typed_chunk(table: pa.Table) -> pd.DataFrame | None:
    """A chunk in which every row is valid, typed compactly straight from its Arrow strings (the
    row validator's `check_chunk`, no Python string per cell); None when anything in it is wrong
    (then `contract_violations` names every problem)."""
    from churn.batch.rows import check_chunk

    if list(table.column_names) != list(RAW_COLUMNS):
        return None
    chunk = check_chunk(table, FIRST_DATA_LINE)
    labels = pc.utf8_trim_whitespace(table.column(TARGET))
    churned = pc.equal(labels, "Yes")
    if chunk.problems or not pc.all(pc.or_(churned, pc.equal(labels, "No"))).as_py():
        return None
    frame = chunk.features
    ids = pc.fill_null(chunk.table.column(ID_COLUMN), "")
    frame.insert(0, ID_COLUMN, pd.arrays.ArrowStringArray(pc.cast(ids, pa.large_string())))
    frame[TARGET] = np.asarray(churned.to_numpy(zero_copy_only=False), dtype=np.int8)
    return compact(frame)


def check_file_in_chunks(
    path: Path,
    chunk_rows: int = CHUNK_ROWS,
    rows_read: RowsRead | None = None,
    keep: Keep | None = None,
) -> CleanResult:
    """Every contract violation of a CSV or Parquet file, read `chunk_rows` at a time through the
    one row validator (`contract_violations` per chunk: counts summed over the chunks, duplicate
    ids over the whole file), and, when there are none, its rows as one compact typed frame (with
    violations: the first chunk as read, strings, for the data quality report).

    With `keep`, each valid compact chunk is handed to it instead (e.g. written to a file:
    `churn.training.compact_file`) and the frame returned is empty: memory follows the chunk."""
    from churn.batch.files import BatchInputError, header, read_chunks

    try:
        names = header(path)
    except BatchInputError as exc:
        return CleanResult(pd.DataFrame(), [Violation("<file>", str(exc).split(": ", 1)[-1])])
    malformed = [0]

    def note(_line: int | None, _text: str) -> None:
        malformed[0] += 1

    typed: list[pd.DataFrame] = []
    store: Keep = keep if keep is not None else typed.append
    first: pd.DataFrame | None = None
    found: list[Violation] = []
    ids = _Ids()
    rows = 0
    try:
        for table in read_chunks(path, chunk_rows, note):
            fast = _typed_chunk(table)
            if fast is not None:
                ids.add(fast[ID_COLUMN], stripped=True)
                if not found:
                    store(fast)
            else:
                raw = table.to_pandas()
                first = raw if first is None else first
                result = contract_violations(raw)
                found += [v for v in result.violations if not v.problem.startswith("duplicated")]
                if ID_COLUMN in raw.columns:
                    ids.add(raw[ID_COLUMN])
                if not found:
                    store(compact(result.frame))
            rows += table.num_rows
            if rows_read is not None:
                rows_read(rows)
    except BatchInputError as exc:
        found.append(Violation("<file>", str(exc).split(": ", 1)[-1]))
    if rows == 0 and not found:
        found = contract_violations(pd.DataFrame(columns=names, dtype=str)).violations
    found = _merge(found) + ids.violations()
    if malformed[0]:
        found.append(Violation("<file>", "rows with the wrong number of fields", malformed[0]))
    if found:  # the first chunk read whole, for the data quality report of a failing file
        return CleanResult(first if first is not None else pd.DataFrame(), found)
    if keep is not None:
        return CleanResult(pd.DataFrame(), [])
    return CleanResult(pd.concat(typed, ignore_index=True), [])
