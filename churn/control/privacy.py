"""The customer's rights over the project database: export, erase, and retention (purge).

Every table that holds a customer key is declared once, in `CUSTOMER_TABLES`; export and erase
walk that list, and tests/privacy/test_customer_tables.py fails when a table of
`churn.db.tables` has a customer column the list lacks, so a new table cannot be forgotten.
A customer is found by the key the stores write (`churn.privacy.customer_key`: the keyed hash
with `CHURN_CUSTOMER_ID_KEY`) and by the raw ID too, which rows written before the key was set
still hold. Every export, erase and purge leaves an audit row; with a key, that row names the
customer by the keyed hash only, never the raw ID.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from churn.artifacts import Artifact
from churn.db.audit import AuditEvent, insert
from churn.db.tables import (
    audit_log,
    campaign_assignments,
    campaign_contacts,
    campaigns,
    customer_events,
    outcomes,
    prediction_log,
)
from churn.privacy import customer_key
from churn.schema import ID_COLUMN
from churn.settings import Settings

CUSTOMER_TABLES: tuple[tuple[sa.Table, str], ...] = (
    (prediction_log, ID_COLUMN),
    (outcomes, ID_COLUMN),
    (campaign_assignments, ID_COLUMN),
    (campaign_contacts, ID_COLUMN),
    (customer_events, ID_COLUMN),
)
"""(table, column holding the customer key): what export and erase cover, in this order."""

PURGE_TABLES: tuple[tuple[sa.Table, Callable[[dt.datetime], sa.ColumnElement[bool]]], ...] = (
    (prediction_log, lambda cutoff: prediction_log.c.created_at < cutoff),
    (outcomes, lambda cutoff: outcomes.c.observed_at < cutoff),
    # the events consumer's record of what it handled (and why it re-scored)
    (customer_events, lambda cutoff: customer_events.c.handled_at < cutoff),
    # who signed in from where, who erased whom: kept as long as the data, no longer
    (audit_log, lambda cutoff: audit_log.c.created_at < cutoff),
    # a closed campaign's per-customer rows; the campaign row (its counts, what it learned) stays
    (
        campaign_assignments,
        lambda cutoff: campaign_assignments.c.campaign_id.in_(
            sa.select(campaigns.c.id).where(campaigns.c.closed_at < cutoff)
        ),
    ),
    (
        campaign_contacts,
        lambda cutoff: campaign_contacts.c.campaign_id.in_(
            sa.select(campaigns.c.id).where(campaigns.c.closed_at < cutoff)
        ),
    ),
)
"""(table, which of its rows are due, given the cutoff): what retention deletes, in this order.
An open campaign's assignments and contacts are kept: its outcomes are still being measured."""

PURGE_BATCH_ROWS = 10_000
"""Rows per DELETE statement and transaction: a purge of millions of rows never holds them all,
and the service's log writer waits at most one batch for SQLite's write lock."""

AUDIT_SUBJECT = "customer_data"
"""The audit rows' `model_name`: what the action was about (as `api_token` for tokens)."""
UNKEYED_PREFIX = "r1:"
"""An audit subject without a key: SHA-256 of the ID, so the audit page never shows the ID."""
MAX_ID_LENGTH = 64  # churn.schema.CustomerRecord.customerID: no longer ID was ever stored


class PrivacyError(ValueError):
    """A bad argument (customer ID, reason, days, actor): the message names it."""


class RawCustomerIdsRefused(RuntimeError):
    """PostgreSQL without `CHURN_CUSTOMER_ID_KEY`, and raw IDs were not allowed on purpose."""


def require_customer_key(settings: Settings) -> None:
    """Refuse to store raw customer IDs in a shared (PostgreSQL) database by accident.

    SQLite is a laptop's file: raw IDs are the documented default there. PostgreSQL means a
    deployment, where a key is required unless `CHURN_ALLOW_RAW_CUSTOMER_IDS=true` says raw IDs
    are wanted. The service calls this at start."""
    try:
        backend = sa.make_url(settings.prediction_db).get_backend_name()
    except sa.exc.ArgumentError:
        return  # not a URL: the engine factory names that problem itself
    has_key = bool((settings.customer_id_key or "").strip())
    if backend != "postgresql" or has_key or settings.allow_raw_customer_ids:
        return
    raise RawCustomerIdsRefused(
        "CHURN_CUSTOMER_ID_KEY is not set and CHURN_PREDICTION_DB is PostgreSQL: customer IDs "
        "would be stored raw. Set CHURN_CUSTOMER_ID_KEY to a secret (32 random bytes, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or "
        "CHURN_ALLOW_RAW_CUSTOMER_IDS=true to store raw IDs on purpose"
    )


def check_customer_id(customer_id: str) -> str:
    if not customer_id.strip():
        raise PrivacyError("CUSTOMER_ID must not be empty")
    if len(customer_id) > MAX_ID_LENGTH:
        raise PrivacyError(
            f"CUSTOMER_ID is {len(customer_id)} characters; customer IDs have at most "
            f"{MAX_ID_LENGTH}"
        )
    if any(not c.isprintable() for c in customer_id):
        raise PrivacyError("CUSTOMER_ID holds a control character")
    return customer_id


def check_text(name: str, value: str, longest: int) -> str:
    value = value.strip()
    if not value:
        raise PrivacyError(f"{name} must not be empty")
    if len(value) > longest:
        raise PrivacyError(f"{name} is {len(value)} characters; at most {longest}")
    return value


def stored_keys(customer_id: str, secret: str | None) -> tuple[str, ...]:
    """The values a store may hold for this customer: its keyed hash and the raw ID, of the ID
    as given and as the outcome store keeps it (stripped of surrounding blanks)."""
    ids = dict.fromkeys((customer_id, customer_id.strip()))
    keys = [customer_key(i, secret) or i for i in ids] + list(ids)
    return tuple(dict.fromkeys(keys))


def audit_subject(customer_id: str, secret: str | None) -> str:
    """How an audit row names the customer: the keyed hash with a key (whoever holds the key can
    check an ID was erased; a reader of the audit page learns no ID). Without a key, a random
    receipt: an unkeyed hash of an ID (few digits and letters) is reversed by trying them all,
    so it would keep the erased ID in the audit log. The command prints the receipt once."""
    if secret:
        return str(customer_key(customer_id, secret))
    return UNKEYED_PREFIX + secrets.token_hex(20)


def counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{table}={n}" for table, n in counts.items())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return value


def rows_of(
    conn: sa.Connection, table: sa.Table, column: str, keys: tuple[str, ...]
) -> Iterator[dict[str, Any]]:
    """The table's rows about the customer as JSON-ready dicts, streamed (`yield_per`): a
    customer scored a million times is never held in memory at once."""
    query = sa.select(table).where(table.c[column].in_(keys)).order_by(table.c.id)
    for row in conn.execution_options(yield_per=1000).execute(query).mappings():
        yield {k: _jsonable(v) for k, v in row.items()}


@dataclass(frozen=True)
class Request:
    """One subject request: who asks, about which customer, with which key setting."""

    customer_id: str
    actor: str
    secret: str | None

    def __post_init__(self) -> None:
        check_customer_id(self.customer_id)
        check_text("--actor", self.actor, 128)

    @property
    def keys(self) -> tuple[str, ...]:
        return stored_keys(self.customer_id, self.secret)

    @cached_property
    def subject(self) -> str:
        """One per request: the export and erase rows of one request name the same subject."""
        return audit_subject(self.customer_id, self.secret)

    def event(self, action: str, reason: str) -> AuditEvent:
        return AuditEvent(action, "cli", self.actor, AUDIT_SUBJECT, None, self.subject, reason)


def record_export(engine: sa.Engine, request: Request, counts: Mapping[str, int]) -> None:
    """The audit row of an export (who read whose data, how many rows), after it is written."""
    with engine.begin() as conn:
        insert(conn, request.event("privacy_export", f"exported {counts_text(counts)}"))


def erase(engine: sa.Engine, request: Request, reason: str) -> dict[str, int]:
    """Delete every row about the customer and write the audit row, in ONE transaction: all of
    it or none. Rows deleted per table (zeros for an unknown customer, still audited)."""
    reason = check_text("--reason", reason, 2000)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for table, column in CUSTOMER_TABLES:
            result = conn.execute(table.delete().where(table.c[column].in_(request.keys)))
            counts[table.name] = int(result.rowcount)
        insert(conn, request.event("privacy_erase", f"{reason} (deleted {counts_text(counts)})"))
    return counts


def check_days(days: int) -> int:
    if days < 1:
        raise PrivacyError(f"--older-than must be at least 1 day, got {days}")
    return days


def purge(
    engine: sa.Engine,
    older_than_days: int,
    actor: str,
    source: str = "cli",
    now: dt.datetime | None = None,
    batch_rows: int = PURGE_BATCH_ROWS,
) -> dict[str, int]:
    """Delete prediction-log rows, outcomes, audit rows and closed campaigns' assignments older
    than `older_than_days` (PURGE_TABLES), `batch_rows` per transaction, then write one audit row
    with the counts. Interrupted, the batches already
    committed stay deleted (they were due) and the audit row says how far it got."""
    check_days(older_than_days)
    check_text("--actor", actor, 128)
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=older_than_days)
    counts = {table.name: 0 for table, _ in PURGE_TABLES}

    def audit(outcome: str) -> None:
        reason = (
            f"retention: older than {older_than_days} days (before {cutoff:%Y-%m-%d %H:%M} UTC), "
            f"deleted {counts_text(counts)}; {outcome}"
        )
        event = AuditEvent(
            "privacy_purge", source, actor, AUDIT_SUBJECT, None, f"{older_than_days}d", reason
        )
        with engine.begin() as conn:
            insert(conn, event)

    try:
        for table, is_due in PURGE_TABLES:
            due = sa.select(table.c.id).where(is_due(cutoff)).limit(batch_rows)
            while True:
                with engine.begin() as conn:
                    deleted = int(conn.execute(table.delete().where(table.c.id.in_(due))).rowcount)
                counts[table.name] += deleted
                if deleted < batch_rows:
                    break
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the database may be what failed: keep that error
            audit(f"interrupted by {type(exc).__name__}")
        raise
    audit("done")
    return counts


class PurgeResult(Artifact):
    """The monitoring run's retention purge (`purge_expired`): what it deleted, and a note when
    the retention is shorter than what the realized metrics read."""

    older_than_days: int
    deleted: dict[str, int]
    note: str | None = None


def retention_note(
    days: int, realized_window_days: float, outcome_lookback_days: float
) -> str | None:
    """Why a retention this short starves the realized metrics (None when it does not): they
    join outcomes of the last `realized_window_days` to predictions up to
    `outcome_lookback_days` older."""
    needed = realized_window_days + outcome_lookback_days
    if days >= needed:
        return None
    return (
        f"CHURN_RETENTION_DAYS={days} is shorter than the {needed:g} days the realized metrics "
        f"read (realized_window_days {realized_window_days:g} + outcome_lookback_days "
        f"{outcome_lookback_days:g}): older outcomes find no prediction to join"
    )
