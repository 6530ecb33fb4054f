"""The audit trail (`audit_log`, revision 0003): who changed production, when, from what, and why.

Written by every promotion (the training pipeline's promote step, `churn model promote`) and every
rollback, token and campaign changes, the customer-data commands (`churn privacy`, the monitoring
run's retention purge) and both UIs' sign-ins, sign-outs, lockouts, revocations and password
changes (churn/db/users.py); read by `churn audit` and the UI's audit page.
The table is created by the migrations (`churn db migrate`); `record` and `recent` check the schema
first (`churn.db.migrate.ready`: a fresh SQLite file is migrated, a server says what to run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import sqlalchemy as sa

from churn.db.engine import make_engine
from churn.db.migrate import ready
from churn.db.tables import audit_log
from churn.settings import get_settings

ACTIONS = (
    "promote",
    "rollback",
    "switch",
    "experiment_start",
    "experiment_stop",
    "token_create",
    "token_revoke",
    "campaign_plan",
    "campaign_close",
    "campaign_learn",
    "campaign_contacts",
    "campaign_holdout",
    "privacy_export",
    "privacy_erase",
    "privacy_purge",
    "sign_in",
    "sign_in_failed",
    "sign_in_locked",
    "sign_out",
    "session_revoke",
    "password_change",
)


def default_actor() -> str:
    """`CHURN_AUDIT_ACTOR` when set (the CI workflow sets `github:<run id>`), else the OS user
    running the command (or the pipeline); `--actor` overrides it."""
    if actor := (get_settings().audit_actor or "").strip():
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER/LOGNAME (some containers)
        return "unknown"


@dataclass(frozen=True)
class AuditEvent:
    action: str  # one of ACTIONS
    source: str  # "pipeline", "cli" or "service"
    actor: str
    model_name: str
    from_version: str | None
    to_version: str
    reason: str
    created_at: dt.datetime | None = None  # set by `record` when None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"audit action must be one of {ACTIONS}, not {self.action!r}")
        if not self.actor.strip():
            raise ValueError("audit actor must not be empty")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out


def insert(conn: sa.Connection, event: AuditEvent) -> AuditEvent:
    """Add the event inside the caller's transaction (with the time now when it has none), so a
    change and its audit row commit together or not at all; the stored event."""
    stored = event if event.created_at else replace(event, created_at=dt.datetime.now(dt.UTC))
    conn.execute(audit_log.insert().values(**asdict(stored)))
    return stored


@contextlib.contextmanager
def recording(event: AuditEvent, url: str | None = None) -> Iterator[AuditEvent]:
    """Insert the event in a transaction that commits when the block ends without an error.

    The registries change inside the block: a change that fails leaves no audit row, and an audit
    row that cannot be written fails the change (which its caller then undoes).
    """
    engine = make_engine(url)
    try:
        ready(engine)
        with engine.begin() as conn:
            yield insert(conn, event)
    finally:
        engine.dispose()


def record(event: AuditEvent, url: str | None = None) -> AuditEvent:
    """Append one event (the schema checked first: `ready`); the stored event, with its time."""
    with recording(event, url) as stored:
        return stored


def check_actions(actions: Sequence[str]) -> None:
    """ValueError naming the unknown actions and the known ones (ACTIONS is the one list)."""
    unknown = sorted(set(actions) - set(ACTIONS))
    if unknown:
        raise ValueError(f"audit action must be one of {ACTIONS}, not {unknown}")


def recent(
    limit: int = 50, url: str | None = None, actions: Sequence[str] | None = None
) -> list[AuditEvent]:
    """The newest `limit` events, newest first; only `actions` when given (a service's switches
    outnumber the changes that caused them)."""
    check_actions(actions or ())
    query = sa.select(audit_log)
    if actions:
        query = query.where(audit_log.c.action.in_(list(actions)))
    engine = make_engine(url)
    try:
        ready(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                query.order_by(audit_log.c.created_at.desc(), audit_log.c.id.desc()).limit(limit)
            ).mappings()
            events = []
            for row in rows:
                values = {k: v for k, v in row.items() if k != "id"}
                when = values["created_at"]
                if when is not None and when.tzinfo is None:  # SQLite drops the zone: it is UTC
                    values["created_at"] = when.replace(tzinfo=dt.UTC)
                events.append(AuditEvent(**values))
            return events
    finally:
        engine.dispose()
