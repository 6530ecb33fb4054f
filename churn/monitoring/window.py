"""Reading the live window from the service's prediction log (`prediction_log`, see CONTRACT.md).

A window of a million rows is sampled: the window's ids are read first (an index-only walk of
`ix_prediction_log_served_id`, migration 0007), a seeded uniform sample of them is drawn, and only
those rows are fetched, by primary key. Nothing of the unsampled rows is ever loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from churn.db.engine import make_engine
from churn.db.tables import prediction_log
from churn.schema import FEATURE_NAMES, FEATURES, ID_COLUMN

TABLE = prediction_log.name
LOG_COLUMNS = ("id", "created_at", "model_version", "churn_probability", *FEATURE_NAMES)
OPTIONAL_COLUMNS = ("request_id", ID_COLUMN)
SERVED = "served"
"""Added by the serving-state migration: False for a shadow score that was not returned."""


class PredictionLogError(RuntimeError):
    """The prediction log is missing or does not have the contract's columns."""


FETCH_IDS = 5000
"""Sampled rows fetched per `WHERE id IN (...)` (SQLite allows 32,766 bound values)."""


@dataclass(frozen=True)
class Window:
    """The rows to compare, and how many rows the window held before sampling."""

    frame: pd.DataFrame
    window_rows: int

    @property
    def sampled(self) -> bool:
        return len(self.frame) < self.window_rows


def read_window(db_url: str, rows: int, hours: float | None = None) -> pd.DataFrame:
    """The last `rows` served predictions (optionally only those of the last `hours`), oldest first.

    A missing database or table is an empty window, not an error: the service may not have
    served anyone yet.
    """
    return read_window_sample(db_url, rows, hours).frame


def window_query(table: sa.TableClause, rows: int, hours: float | None, served: bool) -> sa.Select:
    """The window: the newest `rows` served rows (of the last `hours`), newest first.

    Its shape is what the (served, id) index serves: equality on `served`, descending `id`, a
    limit. The plan test (tests/monitoring/test_window_plan.py) reads it on both databases.
    """
    query = sa.select(table).order_by(table.c.id.desc()).limit(rows)
    if served:  # a shadow score nobody received is not live traffic
        query = query.where(sa.column(SERVED) == sa.true())
    if hours is not None:
        since = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=hours)
        query = query.where(table.c.created_at >= since)
    return query


def read_window_sample(
    db_url: str,
    rows: int,
    hours: float | None = None,
    sample_rows: int | None = None,
    seed: int = 0,
) -> Window:
    """`read_window`, or a seeded uniform sample of `sample_rows` of its rows when it holds more
    (oldest first either way), with the number of rows in the window."""
    engine = make_engine(db_url, "window")
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table(TABLE):
            return Window(pd.DataFrame(columns=list(LOG_COLUMNS)), 0)
        present = {c["name"] for c in inspector.get_columns(TABLE)}
        missing = [c for c in LOG_COLUMNS if c not in present]
        if missing:
            raise PredictionLogError(f"table {TABLE} at {db_url} lacks column(s) {missing}")
        columns = [*LOG_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in present)]
        table = sa.table(TABLE, *(sa.column(c) for c in columns))
        query = window_query(table, rows, hours, SERVED in present)
        with engine.connect() as conn:
            if sample_rows is None:
                frame = pd.read_sql(query, conn)
                return Window(typed(frame.iloc[::-1].reset_index(drop=True)), len(frame))
            ids = np.fromiter(
                conn.execute(query.with_only_columns(table.c.id)).scalars(), dtype=np.int64
            )
            in_window = len(ids)
            if in_window > sample_rows:
                ids = np.random.default_rng(seed).choice(ids, sample_rows, replace=False)
            return Window(typed(_rows_by_id(conn, table, np.sort(ids))), in_window)
    except sa.exc.OperationalError as exc:
        raise PredictionLogError(f"cannot read {TABLE} at {db_url}: {exc.orig}") from None
    finally:
        engine.dispose()


def _rows_by_id(conn: sa.Connection, table: sa.TableClause, ids: np.ndarray) -> pd.DataFrame:
    """The rows with these ids, in id order, fetched by primary key a batch at a time."""
    parts = [
        pd.read_sql(sa.select(table).where(table.c.id.in_(batch.tolist())), conn)
        for batch in np.array_split(ids, max(1, -(-len(ids) // FETCH_IDS)))
    ]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the logged features the dtypes of the reference data (SQLite hands back what it has)."""
    out = frame.copy()
    for feature in FEATURES:
        if feature.kind in ("integer", "binary"):
            out[feature.name] = pd.to_numeric(out[feature.name]).astype("int64")
        elif feature.kind == "numeric":
            out[feature.name] = pd.to_numeric(out[feature.name]).astype("float64")
        else:
            out[feature.name] = out[feature.name].astype(str)
    out["churn_probability"] = pd.to_numeric(out["churn_probability"]).astype("float64")
    out["model_version"] = out["model_version"].astype(str)
    return out
