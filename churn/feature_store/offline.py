"""The offline store: materializing it into the online store, and reading customers as they were
at a time (point in time: the latest extract stamped at or before it, never one after).

`training_set` joins outcomes (`customerID`, `Churn`, `observed_at`) to the attributes known when
each was observed; `records_as_of` reads a block of IDs as of one time (for `churn features get
--as-of` and `churn predict --ids`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from churn.batch.files import AtomicWriter
from churn.feature_store.config import Locations, feature_store
from churn.outcomes import CSV_OBSERVED, OutcomeInputError, Problem, read_csv
from churn.schema import FEATURE_NAMES, ID_COLUMN, RAW_COLUMNS, TARGET
from churn.settings import Settings
from feature_repo.customer import EVENT_TIMESTAMP, feature_refs

if TYPE_CHECKING:
    from churn.feature_store.materialize import Materialized, Report

ID_BLOCK = 100_000
"""IDs read from the offline store at a time (`churn predict --ids`)."""


class NoFeatures(ValueError):
    """The offline store holds no extract yet (nothing ingested)."""


def _ready(settings: Settings) -> None:
    loc = Locations.of(settings)
    if not loc.offline and not any(loc.offline_dir.glob("*.parquet")):
        raise NoFeatures(
            f"no extract in the offline store ({loc.offline_dir}): run `churn features ingest`"
        )


def materialize(
    settings: Settings,
    end: dt.datetime | None = None,
    chunk_rows: int | None = None,
    report: Report | None = None,
) -> Materialized:
    """Copy what was ingested since the last run (up to `end`, default now) into the online store,
    in chunks (`churn.feature_store.materialize`); `report` gets the totals after each chunk."""
    from churn.feature_store.materialize import CHUNK_ROWS
    from churn.feature_store.materialize import materialize as chunked

    _ready(settings)
    return chunked(settings, end, chunk_rows or CHUNK_ROWS, report)


def historical(entities: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """`entities` (`customerID`, `event_timestamp`, any other columns) with the 19 inputs as of
    each row's time, in their order; a customer with no extract at or before it gets NaN."""
    _ready(settings)
    store = feature_store(settings, apply=True)
    entities = entities.assign(_order=range(len(entities)))
    job = store.get_historical_features(entity_df=entities, features=feature_refs())
    found = job.to_df().drop(columns=[c for c in entities.columns if c != "_order"])
    # Feast's file store drops a row whose only values are later than its time: put it back
    return entities.merge(found, on="_order", how="left").drop(columns="_order")


def records_as_of(ids: Sequence[str], as_of: dt.datetime, settings: Settings) -> pd.DataFrame:
    """The IDs' records as of `as_of`, in their order; unknown IDs have NaN attributes."""
    entities = pd.DataFrame({ID_COLUMN: list(ids), EVENT_TIMESTAMP: pd.Timestamp(as_of)})
    return historical(entities, settings)[[ID_COLUMN, EVENT_TIMESTAMP, *FEATURE_NAMES]]


def known(frame: pd.DataFrame) -> pd.Series:
    """Rows whose 19 inputs were all found."""
    return frame[list(FEATURE_NAMES)].notna().all(axis=1)


def id_blocks(path: Path, block: int = ID_BLOCK) -> Iterator[list[str]]:
    """The `customerID` column of a CSV or Parquet file, in blocks, blanks skipped."""
    from churn.batch.files import BatchInputError, header, read_chunks

    if ID_COLUMN not in header(path):
        raise BatchInputError(f"{path}: missing column {ID_COLUMN!r}")
    for table in read_chunks(path, block):
        ids = [i.strip() for i in table.column(ID_COLUMN).to_pylist()]
        yield [i for i in ids if i]


@dataclass
class TrainingSet:
    rows: int = 0
    written: int = 0
    missing: list[str] = field(default_factory=list)
    """customerIDs with no attributes at or before their `observed_at` (not written)."""


def training_set(labels: Path, out: Path, settings: Settings) -> TrainingSet:
    """Each outcome of `labels` joined to the attributes as they were at its `observed_at`,
    written to `out` in the Telco layout (`customerID`, the 19 inputs, `Churn`)."""
    outcomes = read_csv(labels)
    unstamped = [n for n, o in enumerate(outcomes, start=2) if o.observed_at is None]
    if unstamped:
        problems = [Problem((f"line {n}", CSV_OBSERVED), "missing") for n in unstamped[:20]]
        raise OutcomeInputError(problems, len(outcomes))
    entities = pd.DataFrame(
        {
            ID_COLUMN: [o.customerID for o in outcomes],
            EVENT_TIMESTAMP: pd.to_datetime([o.observed_at for o in outcomes], utc=True),
            TARGET: ["Yes" if o.churned else "No" for o in outcomes],
        }
    )
    frame = historical(entities, settings)
    found = known(frame)
    report = TrainingSet(rows=len(frame), written=int(found.sum()))
    report.missing = frame.loc[~found, ID_COLUMN].tolist()
    rows = frame.loc[found, list(RAW_COLUMNS)].reset_index(drop=True)
    table = pa.Table.from_pandas(_typed(rows), preserve_index=False)
    with AtomicWriter(out) as writer:
        writer.write(table)
        writer.commit(table.schema)
    return report


def training_set_file(labels: Path, settings: Settings) -> tuple[Path, TrainingSet]:
    """The training pipeline's data from the store (its `feature_store_labels` switch): the
    training set of `labels`, under the feature folder, named by the labels' content."""
    digest = hashlib.md5(labels.read_bytes(), usedforsecurity=False).hexdigest()[:12]
    out = settings.feature_dir / "training_sets" / f"{labels.stem}-{digest}.csv"
    report = training_set(labels, out, settings)
    if not report.written:
        raise NoFeatures(f"{labels}: no label has attributes at or before its observed_at")
    return out, report


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number inputs back to integers (a join with gaps makes them floats)."""
    out = frame.copy()
    for name in ("SeniorCitizen", "tenure"):
        out[name] = out[name].astype("int64")
    return out


def as_record(row: dict[str, Any]) -> dict[str, Any]:
    """One joined row as the record the service takes (`customerID` and the 19 inputs)."""
    out = {ID_COLUMN: row[ID_COLUMN]}
    for name in FEATURE_NAMES:
        value = row[name]
        out[name] = int(value) if name in ("SeniorCitizen", "tenure") else value
    return out
