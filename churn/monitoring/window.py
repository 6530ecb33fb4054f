"""Reading the live window from the service's prediction log (`prediction_log`, see CONTRACT.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def read_window(db_url: str, rows: int, hours: float | None = None) -> pd.DataFrame:
    """The last `rows` served predictions (optionally only those of the last `hours`), oldest first.

    A missing database or table is an empty window, not an error: the service may not have
    served anyone yet.
    """
    engine = make_engine(db_url, "window")
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table(TABLE):
            return pd.DataFrame(columns=list(LOG_COLUMNS))
        present = {c["name"] for c in inspector.get_columns(TABLE)}
        missing = [c for c in LOG_COLUMNS if c not in present]
        if missing:
            raise PredictionLogError(f"table {TABLE} at {db_url} lacks column(s) {missing}")
        columns = [*LOG_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in present)]
        table = sa.table(TABLE, *(sa.column(c) for c in columns))
        query = sa.select(table).order_by(table.c.id.desc()).limit(rows)
        if SERVED in present:  # a shadow score nobody received is not live traffic
            query = query.where(sa.column(SERVED).is_(sa.true()))
        if hours is not None:
            since = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=hours)
            query = query.where(table.c.created_at >= since)
        with engine.connect() as conn:
            frame = pd.read_sql(query, conn)
    except sa.exc.OperationalError as exc:
        raise PredictionLogError(f"cannot read {TABLE} at {db_url}: {exc.orig}") from None
    finally:
        engine.dispose()
    return typed(frame.iloc[::-1].reset_index(drop=True))


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
