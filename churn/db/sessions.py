"""The server side of the UIs' sessions (`ui_sessions`, revision 0011), for both UIs.

The browser holds a random 256-bit session id (inside Flask's signed cookie, or in the Streamlit
session); the table holds only its SHA-256, the person, the role and the times. A session ends
at sign-out, when an admin revokes the person's sessions (`revoke_subject`), when the account is
removed or its password changes, after `session_max_s` (8 h) from sign-in and after
`session_idle_s` (30 min) unused, whichever comes first, in every worker at once: each request
reads the row. `last_seen_at` is written at most once a minute per session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from churn.db.tables import ui_sessions as table

TOUCH_EVERY_S = 60.0
"""How stale `last_seen_at` may get before a request writes it (one write a minute, not each)."""


@dataclass(frozen=True)
class SessionInfo:
    token: str
    """The random id the browser holds (never stored)."""
    subject: str
    """`local:<account>` or `oidc:<issuer subject>`: what an admin revokes."""
    name: str
    role: str
    method: str
    """`password` or `oidc`."""
    created_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def insert_new(conn: sa.Connection, into: sa.Table, values: dict[str, object]) -> bool:
    """INSERT unless the primary key exists (one statement, safe against a concurrent insert on
    SQLite and PostgreSQL); True when it inserted."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(into).values(values).on_conflict_do_nothing()
    return bool(conn.execute(statement).rowcount)


def local_subject(name: str) -> str:
    return f"local:{name}"


class Sessions:
    """`ui_sessions` on an engine; lifetimes from the settings unless given."""

    def __init__(self, engine: sa.Engine, max_s: float, idle_s: float) -> None:
        self.engine = engine
        self.max_s = max_s
        self.idle_s = idle_s

    def start(
        self, conn: sa.Connection, subject: str, name: str, role: str, method: str, address: str
    ) -> SessionInfo:
        """A new session (a fresh id at every sign-in), inside the caller's transaction."""
        token = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        conn.execute(
            table.insert().values(
                id_hash=_digest(token),
                subject=subject[:160],
                name=name[:128],
                role=role,
                method=method,
                address=(address or "unknown")[:64],
                created_at=now,
                last_seen_at=now,
                revoked_at=None,
            )
        )
        return SessionInfo(token, subject, name, role, method, now)

    def adopt(
        self,
        conn: sa.Connection,
        token: str,
        subject: str,
        name: str,
        role: str,
        address: str,
        signed_in_at: dt.datetime,
    ) -> bool:
        """The row of a session whose id the caller derives from the provider's sign-in (the
        dashboard's `st.login` cookie): made on first sight, with the lifetime counted from the
        provider's sign-in; a revoked row stays revoked, so a copied cookie stays refused. True
        when the row is new (a new sign-in to audit)."""
        now = dt.datetime.now(dt.UTC)
        values = {
            "id_hash": _digest(token),
            "subject": subject[:160],
            "name": name[:128],
            "role": role,
            "method": "oidc",
            "address": (address or "unknown")[:64],
            "created_at": min(signed_in_at, now),
            "last_seen_at": now,
            "revoked_at": None,
        }
        return insert_new(conn, table, values)

    def get(self, token: str | None) -> SessionInfo | None:
        """The live session of `token`, or None (unknown, revoked, too old or idle too long)."""
        if not token or len(token) > 128:
            return None
        now = dt.datetime.now(dt.UTC)
        digest = _digest(token)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.id_hash == digest)).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        created, seen = _utc(row["created_at"]), _utc(row["last_seen_at"])
        if (now - created).total_seconds() > self.max_s or (
            now - seen
        ).total_seconds() > self.idle_s:
            return None
        if (now - seen).total_seconds() > TOUCH_EVERY_S:
            with self.engine.begin() as conn:
                conn.execute(
                    table.update().where(table.c.id_hash == digest).values(last_seen_at=now)
                )
        return SessionInfo(token, row["subject"], row["name"], row["role"], row["method"], created)

    def end(self, token: str | None) -> SessionInfo | None:
        """Sign-out: the session is revoked (a copied cookie stops working too)."""
        info = self.get(token)
        if info is None:
            return None
        with self.engine.begin() as conn:
            conn.execute(
                table.update()
                .where(table.c.id_hash == _digest(info.token))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            )
        return info

    def revoke_subject(self, conn: sa.Connection, subject: str, keep: str = "") -> int:
        """End every live session of `subject` but `keep`'s (in the caller's transaction)."""
        query = table.update().where(table.c.subject == subject, table.c.revoked_at.is_(None))
        if keep:
            query = query.where(table.c.id_hash != _digest(keep))
        result = conn.execute(query.values(revoked_at=dt.datetime.now(dt.UTC)))
        return int(result.rowcount or 0)

    def live_subjects(self) -> list[dict[str, object]]:
        """Subjects with live sessions and how many (the admin's users page)."""
        now = dt.datetime.now(dt.UTC)
        oldest = now - dt.timedelta(seconds=self.max_s)
        query = (
            sa.select(table.c.subject, table.c.name, sa.func.count().label("sessions"))
            .where(table.c.revoked_at.is_(None), table.c.created_at > oldest)
            .group_by(table.c.subject, table.c.name)
            .order_by(table.c.subject)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]
