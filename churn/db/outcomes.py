"""The outcome store (`outcomes`, revision 0004), beside the prediction log in the same database.

`store` writes validated outcomes (churn.outcomes) with the customer ID keyed exactly as the
prediction log keys it (`churn.privacy.customer_key`), so the two join; a re-import of the same
customer and `observed_at` is skipped, not doubled. `read` gives the rows of a time window to
the realized-metrics code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from churn.db.engine import make_engine
from churn.db.migrate import ready
from churn.db.tables import outcomes
from churn.outcomes import Outcome
from churn.privacy import customer_key
from churn.settings import get_settings

if TYPE_CHECKING:  # pandas only for reading: the service's POST /outcomes never loads it
    import pandas as pd

TABLE = outcomes.name
SOURCES = ("cli", "api")
CHUNK = 1000


@dataclass(frozen=True)
class StoreResult:
    received: int
    stored: int

    @property
    def duplicates(self) -> int:
        return self.received - self.stored

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates}


def engine_for(url: str | None = None) -> sa.Engine:
    """An engine on the project database (the prediction log's), checked at head (`ready`)."""
    engine = make_engine(url)
    ready(engine)
    return engine


def _insert(engine: sa.Engine) -> sa.Insert:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(outcomes).on_conflict_do_nothing(
            index_elements=["customerID", "observed_at"]
        )
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(outcomes).on_conflict_do_nothing(
        index_elements=["customerID", "observed_at"]
    )


def store(
    engine: sa.Engine,
    items: Sequence[Outcome],
    source: str,
    received_at: dt.datetime | None = None,
    secret: str | None = None,
) -> StoreResult:
    """Insert all outcomes in ONE transaction (all or none); already stored ones are skipped."""
    if source not in SOURCES:
        raise ValueError(f"outcome source must be one of {SOURCES}, not {source!r}")
    when = received_at or dt.datetime.now(dt.UTC)
    key = secret if secret is not None else get_settings().customer_id_key
    rows = {}
    for item in items:  # the same customer and time twice in one batch: stored once
        customer = customer_key(item.customerID, key)
        observed = item.observed(when)
        rows[(customer, observed)] = {
            "customerID": customer,
            "churned": item.churned,
            "observed_at": observed,
            "received_at": when,
            "source": source,
        }
    values = list(rows.values())
    stored = 0
    with engine.begin() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar_one()
        for start in range(0, len(values), CHUNK):
            conn.execute(_insert(engine), values[start : start + CHUNK])
        after = conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar_one()
        stored = int(after - before)
    return StoreResult(received=len(items), stored=stored)


def _utc(series: pd.Series) -> pd.Series:
    """SQLite hands back naive datetimes (they are UTC); PostgreSQL aware ones."""
    import pandas as pd

    values = pd.to_datetime(series)
    if values.dt.tz is None:
        return values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC")


def read(
    engine: sa.Engine, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> pd.DataFrame:
    """Outcomes observed in [since, until), with UTC-aware `observed_at`; none (an empty frame)
    when the database has no outcome table yet: readers do not migrate."""
    import pandas as pd

    empty = pd.DataFrame(
        {
            "customerID": pd.Series(dtype=str),
            "churned": pd.Series(dtype=bool),
            "observed_at": pd.Series(dtype="datetime64[ns, UTC]"),
        }
    )
    if not sa.inspect(engine).has_table(TABLE):
        return empty
    query = sa.select(outcomes.c.customerID, outcomes.c.churned, outcomes.c.observed_at)
    if since is not None:
        query = query.where(outcomes.c.observed_at >= since)
    if until is not None:
        query = query.where(outcomes.c.observed_at < until)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    if frame.empty:
        return empty
    frame["observed_at"] = _utc(frame["observed_at"])
    frame["churned"] = frame["churned"].astype(bool)
    return frame
