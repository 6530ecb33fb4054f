"""The customer-event store (`customer_events`, revision 0014): what `churn events consume` handled.

A batch of events is recorded in one transaction together with its prediction-log rows
(`request_id` = `ev:<event_id>`, skipped when already there), as `done = false`; the consumer sets
`done` once the features are written and the alerts published. So a redelivered event is either
unknown here (handle it), pending (finish it: write its features again, publish its alert) or
done (skip it), and no event is logged twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from churn.db.tables import customer_events, prediction_log

REQUEST_PREFIX = "ev:"
CHUNK = 500


@dataclass(frozen=True)
class Handled:
    """An event already recorded: finished or not, and its alert (None: no alert)."""

    done: bool
    alert: str | None
    churn_probability: float
    previous_probability: float


def request_id(event_id: str) -> str:
    """The prediction-log `request_id` of an event's re-score."""
    return REQUEST_PREFIX + event_id


def handled(engine: sa.Engine, event_ids: Sequence[str]) -> dict[str, Handled]:
    """The events of `event_ids` already recorded."""
    out: dict[str, Handled] = {}
    c = customer_events.c
    columns = (c.event_id, c.done, c.alert, c.churn_probability, c.previous_probability)
    with engine.connect() as conn:
        for start in range(0, len(event_ids), CHUNK):
            chunk = list(event_ids[start : start + CHUNK])
            for row in conn.execute(sa.select(*columns).where(c.event_id.in_(chunk))):
                out[row.event_id] = Handled(
                    bool(row.done), row.alert, row.churn_probability, row.previous_probability
                )
    return out


def _insert_ignoring(engine: sa.Engine, table: sa.Table, key: str) -> Any:
    """`INSERT ... ON CONFLICT (key) DO NOTHING` on SQLite and PostgreSQL."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=[key])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=[key])


def record(
    engine: sa.Engine, events: Sequence[Mapping[str, Any]], log_rows: Sequence[Mapping[str, Any]]
) -> None:
    """The events (pending) and their prediction-log rows, in one transaction."""
    if not events:
        return
    with engine.begin() as conn:
        conn.execute(_insert_ignoring(engine, customer_events, "event_id"), list(events))
        if log_rows:
            conn.execute(_insert_ignoring(engine, prediction_log, "request_id"), list(log_rows))


def mark_done(engine: sa.Engine, event_ids: Iterable[str]) -> None:
    ids = list(event_ids)
    if not ids:
        return
    c = customer_events.c
    with engine.begin() as conn:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            conn.execute(customer_events.update().where(c.event_id.in_(chunk)).values(done=True))


def recent_alerts(engine: sa.Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The newest alerts, newest first (the dashboard's retention-alerts panel)."""
    c = customer_events.c
    query = (
        sa.select(c.handled_at, c.customerID, c.alert, c.cause, c.previous_probability,
                  c.churn_probability, c.model_version, c.event_id)
        .where(c.alert.is_not(None))
        .order_by(c.id.desc())
        .limit(limit)
    )  # fmt: skip
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def customer_history(engine: sa.Engine, key: str, limit: int = 100) -> list[dict[str, Any]]:
    """One customer's re-scores by event, oldest first (its risk over the day)."""
    c = customer_events.c
    query = (
        sa.select(c.handled_at, c.event_time, c.kind, c.cause, c.churn_probability, c.alert)
        .where(c.customerID == key)
        .order_by(c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    return rows[::-1]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
