"""`churn predict` and `churn validate` over a file of any size, one chunk at a time.

Memory holds one chunk (and, for `validate`'s duplicate-id check, 8 bytes per row). Scores come
from the model's own `predict_proba` on the typed chunk (`churn.training.scoring.score`), so they
are the service's to floating-point rounding; the output is the same for any chunk size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn.batch.files import (
    DEFAULT_CHUNK_ROWS,
    AtomicWriter,
    BatchInputError,
    parquet_rows,
    read_chunks,
)
from churn.batch.files import header as file_header
from churn.batch.progress import Progress
from churn.batch.rows import check_chunk
from churn.data import RowViolations, Violation, _check_columns, target_violation
from churn.schema import FEATURE_NAMES, FIRST_DATA_LINE, ID_COLUMN, RAW_COLUMNS, TARGET, RowProblem

MAX_SHOWN = 20
"""Rejected rows shown on the terminal; every one of them is in the errors file."""

ERRORS_SCHEMA = pa.schema(
    [("line", pa.int64()), (ID_COLUMN, pa.string()), ("problems", pa.string())]
)

Probabilities = Callable[[pd.DataFrame], np.ndarray]
SCORING_BLOCK = 100_000


@dataclass
class Report:
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    shown: list[RowProblem] = field(default_factory=list)
    churned: int = 0
    violations: list[Violation] = field(default_factory=list)

    def keep(self, problems: list[RowProblem]) -> None:
        self.rejected += len(problems)
        self.shown += problems[: MAX_SHOWN - len(self.shown)]


def check_header(path: Path) -> list[str]:
    """The columns of a file to score; `BatchInputError` naming the missing or unknown ones."""
    names = file_header(path)
    missing = [c for c in FEATURE_NAMES if c not in names]
    if missing:
        raise BatchInputError(f"{path}: missing columns {missing}")
    unknown = [c for c in names if c not in RAW_COLUMNS]
    if unknown:
        raise BatchInputError(f"{path}: unknown columns {unknown}")
    return names


def _malformed(report: Report, errors: list[RowProblem]) -> Callable[[int | None, str], None]:
    def note(number: int | None, text: str) -> None:
        fields = text.count(",") + 1
        reason = f"not a row of {len(RAW_COLUMNS)} or fewer fields (found about {fields})"
        errors.append(RowProblem(number or 0, "", reason))

    return note


def _scored_table(table: pa.Table, proba: np.ndarray, threshold: float) -> pa.Table:
    out = table.append_column("churn_probability", pa.array(proba, pa.float64()))
    return out.append_column("churn_prediction", pa.array(proba >= threshold))


class Blocks:
    """Valid rows waiting to be scored in blocks of `SCORING_BLOCK`, whatever the chunk size:
    the model's matrix products round the same way for the same block, so the output is the
    same byte for byte for any `--chunk-rows`."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []
        self.tables: list[pa.Table] = []
        self.rows = 0

    def add(self, features: pd.DataFrame, table: pa.Table) -> None:
        self.frames.append(features)
        self.tables.append(table)
        self.rows += len(features)

    def score(
        self,
        probabilities: Probabilities,
        threshold: float,
        write: Callable[[pa.Table], None],
        *,
        final: bool,
    ) -> None:
        while self.rows >= SCORING_BLOCK or (final and self.rows):
            frame = pd.concat(self.frames, ignore_index=True)
            table = pa.concat_tables(self.tables)
            n = min(SCORING_BLOCK, self.rows)
            write(_scored_table(table.slice(0, n), probabilities(frame.iloc[:n]), threshold))
            self.frames, self.tables = [frame.iloc[n:]], [table.slice(n)]
            self.rows -= n


def _errors_table(problems: list[RowProblem]) -> pa.Table:
    return pa.table(
        {
            "line": [p.line for p in problems],
            ID_COLUMN: [p.customer_id for p in problems],
            "problems": [p.reason for p in problems],
        },
        schema=ERRORS_SCHEMA,
    )


def predict_file(
    path: Path,
    out: Path,
    errors_path: Path,
    probabilities: Probabilities,
    threshold: float,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Report:
    """Score every valid row of `path` into `out`; every rejected row into `errors_path`."""
    names = check_header(path)
    report = Report()
    progress = Progress(path.stat().st_size, parquet_rows(path))
    malformed: list[RowProblem] = []
    block = Blocks()
    empty = pa.schema(
        [
            *((n, pa.string()) for n in names if n in (ID_COLUMN, TARGET)),
            ("churn_probability", pa.float64()),
            ("churn_prediction", pa.bool_()),
        ]
    )
    with AtomicWriter(out) as scored, AtomicWriter(errors_path) as errors:
        for table in read_chunks(path, chunk_rows, _malformed(report, malformed)):
            chunk = check_chunk(table, FIRST_DATA_LINE + report.rows)
            problems = [*malformed, *chunk.problems]
            malformed.clear()
            if len(chunk.valid_rows):
                block.add(chunk.features, chunk.table)
                block.score(probabilities, threshold, scored.write, final=False)
            if problems:
                errors.write(_errors_table(problems))
            report.rows += chunk.rows
            report.accepted += len(chunk.valid_rows)
            report.keep(problems)
            progress.update(chunk.rows, table.nbytes)
        if malformed:
            errors.write(_errors_table(malformed))
            report.keep(malformed)
        block.score(probabilities, threshold, scored.write, final=True)
        progress.close()
        scored.commit(empty)
        if report.rejected:
            errors.commit(ERRORS_SCHEMA)
    if not report.rejected:
        errors_path.unlink(missing_ok=True)  # an old run's errors would mislead
    return report


def validate_file(
    path: Path, *, require_target: bool = True, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Report:
    """Every contract violation of a file, as `churn.data.check_file` finds them, in chunks."""
    report = Report()
    try:
        names = file_header(path)
    except BatchInputError as exc:
        report.violations = [Violation("<file>", str(exc).removeprefix(f"{path}: "))]
        return report
    report.violations = _check_columns(pd.DataFrame(columns=names), require_target)
    if any(v.problem == "missing column" for v in report.violations):
        return report
    counter = RowViolations()
    progress = Progress(path.stat().st_size, parquet_rows(path))
    ids: list[np.ndarray] = []
    bad_target, target_samples = 0, pd.Series(dtype=object)
    malformed: list[RowProblem] = []
    for table in read_chunks(path, chunk_rows, _malformed(report, malformed)):
        chunk = check_chunk(table, FIRST_DATA_LINE + report.rows)
        first = FIRST_DATA_LINE + report.rows
        trimmed = {n: pc.utf8_trim_whitespace(table.column(n)) for n in table.column_names}

        def cell(
            line: int, column: str, t: dict[str, pa.ChunkedArray] = trimmed, f: int = first
        ) -> object:
            return t[column][line - f].as_py()

        counter.add(chunk.problems, cell)
        if ID_COLUMN in names:
            ids.append(_id_hashes(trimmed[ID_COLUMN]))
        if TARGET in names:
            labels = trimmed[TARGET]
            bad = np.asarray(
                pc.invert(pc.is_in(labels, pa.array(["Yes", "No"]))).to_numpy(zero_copy_only=False)
            )
            if bad.any():
                bad_target += int(bad.sum())
                if len(target_samples) <= 10:
                    more = pd.Series(labels.filter(pa.array(bad)).to_pylist()[:10], dtype=object)
                    target_samples = pd.concat([target_samples, more])
            report.churned += int(pc.sum(pc.equal(labels, "Yes")).as_py() or 0)
        report.rows += chunk.rows
        report.accepted += len(chunk.valid_rows)
        report.rejected += len(chunk.problems)
        progress.update(chunk.rows, table.nbytes)
    progress.close()
    violations = report.violations + counter.violations()
    if malformed:
        violations.append(
            Violation("<file>", "rows with the wrong number of fields", len(malformed))
        )
    if report.rows == 0:
        violations.append(Violation("<file>", "no data rows"))
    duplicated = _duplicated(ids)
    if duplicated:
        violations.append(Violation(ID_COLUMN, "duplicated ids", duplicated))
    if bad_target:
        violations.append(target_violation(bad_target, target_samples))
    report.violations = violations
    return report


def _id_hashes(ids: pa.ChunkedArray) -> np.ndarray:
    """64-bit hashes of the non-blank ids (blank ids are never duplicates)."""
    present = ids.filter(pc.not_equal(ids, ""))
    values = pd.util.hash_array(np.asarray(present.to_numpy(zero_copy_only=False), dtype=object))
    return np.asarray(values, dtype=np.uint64)


def _duplicated(hashes: list[np.ndarray]) -> int:
    """Rows whose id another row has too (by 64-bit hash: a false match is ~1e-6 at 10M rows)."""
    if not hashes:
        return 0
    values = np.sort(np.concatenate(hashes))
    same = values[1:] == values[:-1]
    mark = np.zeros(len(values), dtype=bool)
    mark[1:] |= same
    mark[:-1] |= same
    return int(mark.sum())
