"""`serving_state` (revision 0005): the one record every service worker and pod serves from.

Per model name: the production BentoML model (tag, ZenML version) and the running experiment.
Promotion and rollback (churn/control/registry.py, also the training pipeline's promote step)
and `churn experiment start|stop` write it; each service worker polls it (bentos/live_model.py). No
row means "serve the model embedded in the service" (the store's latest `telco_churn`).

`change` writes the state and its audit row in ONE transaction: both or neither.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

import sqlalchemy as sa

from churn.db.audit import AuditEvent
from churn.db.engine import make_engine
from churn.db.migrate import ready
from churn.db.tables import audit_log, prediction_log, row_by, serving_state
from churn.settings import get_settings


@dataclass(frozen=True)
class ServingState:
    model_name: str
    production_tag: str
    production_version: str
    experiment: str = "none"  # churn.experiment.MODES
    challenger_tag: str | None = None
    challenger_version: str | None = None
    share: float | None = None
    salt: str | None = None
    started_at: dt.datetime | None = None
    started_by: str | None = None
    updated_at: dt.datetime | None = None

    def key(self) -> tuple[Any, ...]:
        """What a worker compares to know whether it must switch (not the update time)."""
        return (
            self.production_tag,
            self.experiment,
            self.challenger_tag,
            self.share,
            self.salt,
        )

    def with_production(self, tag: str, version: str) -> ServingState:
        """A new production model ends any experiment: it compared against the old champion."""
        return ServingState(self.model_name, tag, version)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("started_at", "updated_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def engine_for(url: str | None = None) -> sa.Engine:
    return make_engine(url)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite drops the zone: it is UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def read_with(conn: sa.Connection, model_name: str) -> ServingState | None:
    row = row_by(conn, serving_state.c.model_name, model_name)
    if row is None:
        return None
    values = dict(row)
    values["started_at"] = _utc(values["started_at"])
    values["updated_at"] = _utc(values["updated_at"])
    return ServingState(**values)


def write_with(conn: sa.Connection, state: ServingState | None, model_name: str) -> None:
    """Replace the row of `model_name` by `state` (None deletes it)."""
    conn.execute(serving_state.delete().where(serving_state.c.model_name == model_name))
    if state is not None:
        stored = replace(state, updated_at=dt.datetime.now(dt.UTC))
        conn.execute(serving_state.insert().values(**asdict(stored)))


def read(model_name: str | None = None, url: str | None = None) -> ServingState | None:
    """The state of `model_name` (default: the settings' model), the schema checked first."""
    engine = engine_for(url)
    try:
        ready(engine)
        with engine.connect() as conn:
            return read_with(conn, model_name or get_settings().model_name)
    finally:
        engine.dispose()


@contextlib.contextmanager
def transaction(event: AuditEvent | None, url: str | None = None) -> Iterator[sa.Connection]:
    """One transaction: what the block writes (`write_with(conn, ...)`), then the audit row, then
    the commit. The registries may change inside the block: an error there (or in the audit
    insert) rolls the state back and writes no audit row.

    SQLite takes its write lock at the first write, so write the state at the END of the block:
    the lock is then held for milliseconds, not for the registry changes (the services' log
    writers share this database).
    """
    engine = engine_for(url)
    stored = None
    if event is not None:
        stored = event if event.created_at else replace(event, created_at=dt.datetime.now(dt.UTC))
    try:
        ready(engine)
        with engine.begin() as conn:
            yield conn
            if stored is not None:
                conn.execute(audit_log.insert().values(**asdict(stored)))
    finally:
        engine.dispose()


def change(
    state: ServingState | None, model_name: str, event: AuditEvent | None, url: str | None = None
) -> ServingState | None:
    """Write `state` and `event` together; returns the previous state."""
    with transaction(event, url) as conn:
        previous = read_with(conn, model_name)
        write_with(conn, state, model_name)
        return previous


_log = prediction_log


def arm_counts(conn: sa.Connection, since: dt.datetime | None) -> list[dict[str, Any]]:
    """Logged predictions per (arm, model version, served) since `since`."""
    query = sa.select(
        _log.c.arm, _log.c.model_version, _log.c.served, sa.func.count().label("predictions")
    ).group_by(_log.c.arm, _log.c.model_version, _log.c.served)
    if since is not None:
        query = query.where(_log.c.created_at >= since)
    return [
        {**row, "served": bool(row["served"])}
        for row in conn.execute(query.order_by(_log.c.arm, _log.c.model_version)).mappings()
    ]


def shadow_pairs(
    conn: sa.Connection, since: dt.datetime | None, limit: int = 200_000
) -> list[tuple[float, bool, float, bool]]:
    """(champion probability, decision, challenger probability, decision) of the same records:
    a shadow row's request_id is its champion row's with ":c" appended."""
    shadow = _log.alias("shadow")
    query = (
        sa.select(
            _log.c.churn_probability, _log.c.churn, shadow.c.churn_probability, shadow.c.churn
        )
        .join(shadow, shadow.c.request_id == _log.c.request_id + ":c")
        .where(_log.c.arm == "champion", shadow.c.arm == "challenger")
        .limit(limit)
    )
    if since is not None:
        query = query.where(_log.c.created_at >= since)
    return [(float(a), bool(b), float(c), bool(d)) for a, b, c, d in conn.execute(query).all()]
