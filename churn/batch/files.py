"""Customer files in chunks: CSV or Parquet in (string columns), CSV or Parquet out, by suffix.

Nothing is read whole: CSV through pyarrow's streaming reader, Parquet by row groups. Output goes
to a hidden temporary name beside the final one and is renamed only when complete, so an
interrupted run never leaves a half-written file under the name a user asked for.
"""

from __future__ import annotations

import csv
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
DEFAULT_CHUNK_ROWS = 100_000
T = TypeVar("T")


class BatchInputError(ValueError):
    """A file as a whole cannot be read or written (suffix, empty, header, not a CSV)."""


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    allowed = ", ".join((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
    raise BatchInputError(f"{path}: unknown file type {suffix or '(none)'!r}; use one of {allowed}")


def header(path: Path) -> list[str]:
    """The column names of a CSV or Parquet file (a CSV header's cells stripped)."""
    if file_format(path) == "parquet":
        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BatchInputError(f"{path}: not a readable Parquet file: {exc}") from None
    if path.stat().st_size == 0:
        raise BatchInputError(f"{path}: the file is empty")
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        names = next(csv.reader(handle), [])
    if not any(n.strip() for n in names):
        raise BatchInputError(f"{path}: the file is empty")
    return [n.strip() for n in names]


MalformedRow = Callable[[int | None, str], None]
"""Told of each CSV line with the wrong number of fields (its line number if known, the text)."""


def read_chunks(
    path: Path, chunk_rows: int = DEFAULT_CHUNK_ROWS, on_malformed: MalformedRow | None = None
) -> Iterator[pa.Table]:
    """Tables of exactly `chunk_rows` rows (the last one shorter), every column a string, no nulls
    (a missing cell is ''). The next chunk is read on a thread while this one is worked on
    (pyarrow parses without the GIL: the second core reads)."""
    return ahead(_chunks(path, chunk_rows, on_malformed))


def ahead(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """`items`, produced on a thread up to `depth` ahead of the consumer (memory: depth + 1)."""
    slots: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put((False, exc))

    thread = threading.Thread(target=produce, name="churn-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            more, item = slots.get()
            if not more:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()


def _chunks(path: Path, chunk_rows: int, on_malformed: MalformedRow | None) -> Iterator[pa.Table]:
    batches = _parquet_batches(path, chunk_rows) if file_format(path) == "parquet" else None
    if batches is None:
        batches = _csv_batches(path, on_malformed)
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield as_strings(table.slice(0, chunk_rows))
            rest = table.slice(chunk_rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield as_strings(pa.Table.from_batches(pending))


def _csv_batches(path: Path, on_malformed: MalformedRow | None) -> Iterator[pa.RecordBatch]:
    names = header(path)

    def skip(row: pcsv.InvalidRow) -> str:
        if on_malformed is None:
            return "error"
        on_malformed(row.number, row.text)
        return "skip"

    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 20),
            parse_options=pcsv.ParseOptions(invalid_row_handler=skip),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        raise BatchInputError(f"{path}: not a readable CSV: {exc}") from None


def _parquet_batches(path: Path, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    try:
        yield from pq.ParquetFile(path).iter_batches(batch_size=chunk_rows)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BatchInputError(f"{path}: not a readable Parquet file: {exc}") from None


def as_strings(table: pa.Table) -> pa.Table:
    """Every column as a string, a missing cell as '' (what the row validator reads)."""
    columns = []
    for column in table.columns:
        text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
        columns.append(pc.fill_null(text, ""))
    return pa.table(columns, names=table.column_names)


def parquet_rows(path: Path) -> int | None:
    return pq.ParquetFile(path).metadata.num_rows if file_format(path) == "parquet" else None


class AtomicWriter:
    """Writes tables to `path` (CSV or Parquet by its suffix) through a temporary file; `commit`
    renames it into place, leaving the block without `commit` deletes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = file_format(path)
        self.temp = path.with_name(f".{path.name}.partial-{os.getpid()}")
        self._writer: pcsv.CSVWriter | pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="churn-write")
        self._pending: list[Future[None]] = []

    def __enter__(self) -> AtomicWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, table: pa.Table) -> None:
        """Queue `table`; it is written on a thread while the next chunk is worked on."""
        if len(self._pending) >= 2:  # bounded: at most two chunks wait
            self._pending.pop(0).result()
        self._pending.append(self._thread.submit(self._write_now, table))

    def _drain(self) -> None:
        while self._pending:
            self._pending.pop(0).result()

    def _write_now(self, table: pa.Table) -> None:
        if self._writer is None:
            self._schema = table.schema
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self.temp, table.schema)
            else:
                self._writer = pcsv.CSVWriter(self.temp, table.schema)
        self._writer.write_table(table.cast(self._schema))

    def commit(self, empty_schema: pa.Schema) -> None:
        self._drain()
        if self._writer is None:  # no rows at all: still a file with its header
            self._write_now(empty_schema.empty_table())
        assert self._writer is not None
        self._writer.close()
        os.replace(self.temp, self.path)
        self._writer = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for pending in self._pending:
            pending.cancel()
        self._thread.shutdown(wait=True)
        if self._writer is not None:
            self._writer.close()
        self.temp.unlink(missing_ok=True)
