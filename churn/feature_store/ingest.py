"""`churn features ingest`: a nightly extract (CSV or Parquet, any size) into the offline store.

The file is read in chunks (`churn.batch.files`) and every row is judged by the one row validator
(`churn.batch.rows.check_chunk`, the service's verdict); a row it refuses, or one without a
customerID, is reported and not ingested. The valid rows are written, stamped with the extract's
`as_of` (event time) and the ingest time, as one Parquet file (renamed into place when complete)
or inside one PostgreSQL transaction (COPY): a failed ingest leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from churn.batch.files import DEFAULT_CHUNK_ROWS, AtomicWriter, BatchInputError, read_chunks
from churn.batch.progress import Progress
from churn.batch.rows import check_chunk
from churn.batch.stream import Report, check_header
from churn.feature_store.config import OFFLINE_TABLE, Locations, postgres_params
from churn.schema import FEATURES, FIRST_DATA_LINE, ID_COLUMN, RowProblem
from churn.settings import Settings
from feature_repo.customer import CREATED, EVENT_TIMESTAMP

_ARROW = {"categorical": pa.string(), "binary": pa.int64(), "integer": pa.int64()}
_SQL = {
    "categorical": "text",
    "binary": "bigint",
    "integer": "bigint",
    "numeric": "double precision",
}
STAMP = pa.timestamp("us", tz="UTC")
OFFLINE_SCHEMA = pa.schema(
    [
        (ID_COLUMN, pa.string()),
        *((f.name, _ARROW.get(f.kind, pa.float64())) for f in FEATURES),
        (EVENT_TIMESTAMP, STAMP),
        (CREATED, STAMP),
    ]
)
"""One row of the offline store: the id, the 19 inputs as the validator typed them, two times."""


class Sink(Protocol):
    def write(self, table: pa.Table) -> None: ...
    def commit(self) -> None: ...
    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: Any) -> None: ...


class ParquetSink:
    """One Parquet file per extract in the offline folder, in place only once complete."""

    def __init__(self, folder: Path, as_of: dt.datetime) -> None:
        name = f"extract-{as_of:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}.parquet"
        self.writer = AtomicWriter(folder / name)

    def __enter__(self) -> ParquetSink:
        self.writer.__enter__()
        return self

    def write(self, table: pa.Table) -> None:
        self.writer.write(table)

    def commit(self) -> None:
        self.writer.commit(OFFLINE_SCHEMA)

    def __exit__(self, *exc: Any) -> None:
        self.writer.__exit__(*exc)


def create_table_sql() -> str:
    columns = ", ".join(
        [f'"{ID_COLUMN}" text NOT NULL']
        + [f'"{f.name}" {_SQL[f.kind]} NOT NULL' for f in FEATURES]
        + [f"{EVENT_TIMESTAMP} timestamptz NOT NULL", f"{CREATED} timestamptz NOT NULL"]
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {OFFLINE_TABLE} ({columns});"
        f'CREATE INDEX IF NOT EXISTS {OFFLINE_TABLE}_id_time ON {OFFLINE_TABLE} ("{ID_COLUMN}", '
        f"{EVENT_TIMESTAMP})"
    )


class PostgresSink:
    """COPY into the offline table, all chunks in one transaction."""

    def __init__(self, url: str) -> None:
        import psycopg

        p = postgres_params(url)
        self.conn = psycopg.connect(
            host=p["host"], port=p["port"], dbname=p["database"], user=p["user"],
            password=p["password"] or None, sslmode=p["sslmode"],
        )  # fmt: skip
        self.conn.execute(create_table_sql())
        columns = ", ".join(f'"{n}"' for n in OFFLINE_SCHEMA.names)
        self._copy_sql = f"COPY {OFFLINE_TABLE} ({columns}) FROM STDIN (FORMAT csv)"

    def __enter__(self) -> PostgresSink:
        return self

    def write(self, table: pa.Table) -> None:
        buffer = io.BytesIO()
        pcsv.write_csv(table, buffer, pcsv.WriteOptions(include_header=False))
        with self.conn.cursor().copy(self._copy_sql) as copy:
            copy.write(buffer.getvalue())

    def commit(self) -> None:
        self.conn.commit()

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None:
            self.conn.rollback()
        self.conn.close()


def open_sink(settings: Settings, as_of: dt.datetime) -> Sink:
    loc = Locations.of(settings)
    if loc.offline:
        return PostgresSink(loc.offline)
    return ParquetSink(loc.offline_dir, as_of)


def offline_rows(chunk_table: pa.Table, as_of: dt.datetime, created: dt.datetime) -> pa.Table:
    """A validated chunk in the offline store's layout."""
    n = chunk_table.num_rows
    columns = [chunk_table.column(name).cast(OFFLINE_SCHEMA.field(name).type)
               for name in OFFLINE_SCHEMA.names[:-2]]  # fmt: skip
    columns += [pa.array([as_of] * n, STAMP) if n else pa.array([], STAMP)]
    columns += [pa.array([created] * n, STAMP) if n else pa.array([], STAMP)]
    return pa.table(columns, schema=OFFLINE_SCHEMA)


def _without_id(
    table: pa.Table, first_line: int, valid_rows: Any
) -> tuple[pa.Table, list[RowProblem]]:
    """The rows with a customerID, and a problem for each without one."""
    missing = pc.is_null(table.column(ID_COLUMN))
    if not pc.any(missing).as_py():
        return table, []
    lines = [first_line + int(valid_rows[i]) for i in pc.indices_nonzero(missing).to_pylist()]
    problems = [
        RowProblem(line, "", f"{ID_COLUMN}: missing (a customer needs its ID)") for line in lines
    ]
    return table.filter(pc.invert(missing)), problems


def ingest_file(
    path: Path,
    as_of: dt.datetime,
    settings: Settings,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_problems: Callable[[list[RowProblem]], None] | None = None,
) -> Report:
    """Ingest every valid row of `path` as of `as_of` (aware, UTC); `Report` counts and shows the
    refused rows (all of them go to `on_problems`)."""
    names = check_header(path)
    if ID_COLUMN not in names:
        raise BatchInputError(f"{path}: missing column {ID_COLUMN!r} (the entity key)")
    from churn.feature_store.config import feature_store

    feature_store(settings, apply=True)  # the views exist before their first rows
    created = dt.datetime.now(dt.UTC)
    report = Report()
    progress = Progress(path.stat().st_size, None)
    malformed: list[RowProblem] = []

    def note(number: int | None, text: str) -> None:
        malformed.append(RowProblem(number or 0, "", "not a row of the Telco layout"))

    with open_sink(settings, as_of) as sink:
        for table in read_chunks(path, chunk_rows, note):
            first = FIRST_DATA_LINE + report.rows
            chunk = check_chunk(table, first)
            rows, no_id = _without_id(chunk.table, first, chunk.valid_rows)
            problems = sorted([*malformed, *chunk.problems, *no_id], key=lambda p: p.line)
            malformed.clear()
            if rows.num_rows:
                sink.write(offline_rows(rows, as_of, created))
            report.rows += chunk.rows
            report.accepted += rows.num_rows
            report.keep(problems)
            if problems and on_problems is not None:
                on_problems(problems)
            progress.update(chunk.rows, table.nbytes)
        report.keep(malformed)
        progress.close()
        sink.commit()
    return report
