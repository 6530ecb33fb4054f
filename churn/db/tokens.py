"""The `api_tokens` table (revision 0006): create, list and revoke service tokens.

Only SHA-256 digests are stored (churn/auth.py says why that hash); the token itself is returned
once by `create`. Every create and revoke is in the audit trail (churn/db/audit.py): its
`model_name` column holds `api_token` and `to_version` the token's name. The service reads the
live digests with `active_hashes` every few seconds (bentos/auth.py), never per request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from churn.auth import check_name, check_scope, hash_token, new_token
from churn.db.audit import AuditEvent, default_actor, record
from churn.db.engine import make_engine
from churn.db.migrate import ready
from churn.db.tables import api_tokens
from churn.settings import get_settings

AUDIT_SUBJECT = "api_token"


class TokenExists(ValueError):
    """An active token already has that name (revoke it first)."""


class TokenNotFound(LookupError):
    """No active token has that name."""


@dataclass(frozen=True)
class TokenInfo:
    name: str
    scope: str
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None = None


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite drops the zone: it is UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def _active(name: str) -> sa.ColumnElement[bool]:
    return sa.and_(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))


def create(
    name: str,
    scope: str,
    actor: str | None = None,
    url: str | None = None,
    lifetime: dt.timedelta | None = None,
) -> str:
    """Store a new token's digest and return the token (the only time it is ever shown); with
    `lifetime`, the service stops accepting it then (at its next digest refresh).

    The token row is committed first, then the audit row; when the audit row cannot be written
    the token row is deleted again, so no token exists without its audit entry.
    """
    check_name(name)
    checked_scope = check_scope(scope)
    actor = actor or default_actor()
    token = new_token()
    url = url or get_settings().prediction_db
    engine = make_engine(url)
    try:
        ready(engine)
        with engine.begin() as conn:
            if conn.execute(sa.select(api_tokens.c.id).where(_active(name))).first():
                raise TokenExists(f"an active token named {name!r} exists; revoke it first")
            conn.execute(
                api_tokens.insert().values(
                    name=name,
                    token_hash=hash_token(token),
                    scope=checked_scope,
                    created_at=dt.datetime.now(dt.UTC),
                    created_by=actor[:128],
                    expires_at=dt.datetime.now(dt.UTC) + lifetime if lifetime else None,
                )
            )
        event = AuditEvent(
            "token_create",
            "cli",
            actor,
            AUDIT_SUBJECT,
            None,
            name,
            f"scope={checked_scope}" + (f" expires_in={lifetime}" if lifetime else ""),
        )
        try:
            record(event, url=url)
        except BaseException:
            with engine.begin() as conn:
                conn.execute(
                    api_tokens.delete().where(api_tokens.c.token_hash == hash_token(token))
                )
            raise
        return token
    finally:
        engine.dispose()


def revoke(name: str, actor: str | None = None, url: str | None = None) -> None:
    """Mark the active token `name` revoked (audited); `TokenNotFound` when there is none."""
    actor = actor or default_actor()
    url = url or get_settings().prediction_db
    engine = make_engine(url)
    try:
        ready(engine)
        now = dt.datetime.now(dt.UTC)
        with engine.begin() as conn:
            row = conn.execute(sa.select(api_tokens.c.id).where(_active(name))).first()
            if row is None:
                raise TokenNotFound(f"no active token named {name[:70]!r}")
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == row.id).values(revoked_at=now)
            )
        event = AuditEvent("token_revoke", "cli", actor, AUDIT_SUBJECT, None, name, "revoked")
        try:
            record(event, url=url)
        except BaseException:
            with engine.begin() as conn:
                conn.execute(
                    api_tokens.update().where(api_tokens.c.id == row.id).values(revoked_at=None)
                )
            raise
    finally:
        engine.dispose()


def list_tokens(include_revoked: bool = False, url: str | None = None) -> list[TokenInfo]:
    """Every token's name, scope and dates (never a digest), oldest first."""
    url = url or get_settings().prediction_db
    engine = make_engine(url)
    try:
        ready(engine)
        query = sa.select(
            api_tokens.c.name,
            api_tokens.c.scope,
            api_tokens.c.created_at,
            api_tokens.c.created_by,
            api_tokens.c.revoked_at,
            api_tokens.c.expires_at,
        ).order_by(api_tokens.c.id)
        if not include_revoked:
            query = query.where(api_tokens.c.revoked_at.is_(None))
        with engine.connect() as conn:
            return [
                TokenInfo(
                    r.name,
                    r.scope,
                    _utc(r.created_at) or r.created_at,
                    r.created_by,
                    _utc(r.revoked_at),
                    _utc(r.expires_at),
                )
                for r in conn.execute(query)
            ]
    finally:
        engine.dispose()


def active_hashes(engine: sa.Engine) -> dict[str, str]:
    """digest -> scope of every token neither revoked nor expired (the service's periodic
    refresh, so an expired token stops working within `CHURN_AUTH_REFRESH_S`)."""
    now = dt.datetime.now(dt.UTC)
    query = sa.select(api_tokens.c.token_hash, api_tokens.c.scope).where(
        api_tokens.c.revoked_at.is_(None),
        sa.or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
    )
    with engine.connect() as conn:
        return {r.token_hash: r.scope for r in conn.execute(query)}
