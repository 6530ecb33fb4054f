"""The UI users (`users` table, revision 0009): names, roles and werkzeug password hashes, shared
by the Flask UI (Flask-Login) and the Streamlit dashboard's sign-in form.

Roles are ordered viewer < analyst < admin. Framework-free apart from werkzeug's hash functions,
so both UIs check the same passwords the same way. The table is made by the migrations (run on
the store's first use), like every other table of the project database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from churn.db.engine import make_engine
from churn.db.migrate import ready
from churn.db.tables import USER_NAME_LENGTH, row_by
from churn.db.tables import users as users_table

ROLES = ("viewer", "analyst", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
MIN_PASSWORD_LENGTH = 10
MAX_NAME_LENGTH = USER_NAME_LENGTH


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a failed sign-in takes as long either way (made on
    first use, not at import: hashing costs ~0.1 s)."""
    return generate_password_hash("not-a-real-password-at-all")


class UserError(ValueError):
    """A user cannot be added or changed as asked (the message says why)."""


@dataclass(frozen=True)
class User:
    """A signed-in person, as Flask-Login sees them."""

    name: str
    role: str
    password_hash: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        # A fingerprint of the hash rides along: a new password or a removal ends old sessions.
        return f"{self.name}:{hash_fingerprint(self.password_hash)}"

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def hash_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable() or ":" in name:
        raise UserError(
            f"user name must be 1-{MAX_NAME_LENGTH} printable characters without ':' "
            f"(got {name!r:.80})"
        )
    return name


def check_role(role: str) -> str:
    if role not in RANK:
        raise UserError(f"role must be one of {', '.join(ROLES)} (got {role!r:.40})")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


class UserStore:
    """The `users` table in the project database; the engine is made (and a SQLite file migrated,
    a server's schema checked: `churn.db.migrate.ready`) on first use, so building the app never
    touches a database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            engine = make_engine(self.url, "ui")
            ready(engine)
            self._engine = engine
        return self._engine

    def audit_sign_in(self, door: str, action: str, name: str, address: str, what: str) -> None:
        """One audit row per sign-in attempt that reached the password check, by either UI
        (`door`: the audit row's `model_name`): the name tried (never the password), the outcome,
        the client address. The caller writes it before the session starts: no row, no session."""
        from churn.db.audit import AuditEvent, insert

        address = (address or "unknown")[:64]
        actor = " ".join(name.split())[:MAX_NAME_LENGTH] or "(blank)"
        event = AuditEvent(action, "ui", actor, door, None, address, f"{what} from {address}")
        with self.engine.begin() as conn:
            insert(conn, event)

    def add(self, name: str, password: str, role: str) -> User:
        name, role = check_name(name), check_role(role)
        password_hash = generate_password_hash(check_password(password))
        insert = users_table.insert().values(
            name=name, password_hash=password_hash, role=role, created_at=datetime.now(UTC)
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(insert)
        except sa.exc.IntegrityError as exc:
            raise UserError(f"user {name!r} already exists") from exc
        return User(name=name, role=role, password_hash=password_hash)

    def get(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = row_by(conn, users_table.c.name, name)
        if row is None:
            return None
        name, role, password_hash = str(row["name"]), str(row["role"]), str(row["password_hash"])
        return User(name=name, role=role, password_hash=password_hash)

    def list(self) -> list[dict[str, Any]]:
        query = sa.select(users_table.c.name, users_table.c.role, users_table.c.created_at)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(users_table.c.name)).mappings()]

    def remove(self, name: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(users_table.delete().where(users_table.c.name == name))
        return bool(result.rowcount)

    def authenticate(self, name: str, password: str) -> User | None:
        user = self.get(name.strip())
        if user is None:
            check_password_hash(_dummy_hash(), password)
            return None
        return user if check_password_hash(user.password_hash, password) else None
