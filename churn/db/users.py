"""The UI users (`users` table, revision 0009): names, roles and werkzeug password hashes, shared
by the Flask UI (Flask-Login) and the Streamlit dashboard's sign-in form, and the one sign-in flow
both UIs call (`UserStore.sign_in`): tries counted and locked out in the project database
(churn/db/sign_in_guard.py), the hash checked under the process's semaphore, the attempt audited,
and a server-side session started (churn/db/sessions.py).

Roles are ordered viewer < analyst < admin. Framework-free apart from werkzeug's hash functions,
so both UIs check the same passwords the same way. The table is made by the migrations (run on
the store's first use), like every other table of the project database. Passwords are hashed with
scrypt N=2^15, r=8, p=3: one of OWASP's equivalent scrypt settings (Password Storage Cheat Sheet),
with werkzeug's 32 MiB per check; older hashes are upgraded at the next successful sign-in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from churn.db import sign_in_guard as guard
from churn.db.engine import make_engine
from churn.db.migrate import ready
from churn.db.sessions import SessionInfo, Sessions, local_subject
from churn.db.tables import USER_NAME_LENGTH, row_by
from churn.db.tables import users as users_table

ROLES = ("viewer", "analyst", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
MIN_PASSWORD_LENGTH = 10
MAX_NAME_LENGTH = USER_NAME_LENGTH
HASH_METHOD = "scrypt:32768:8:3"
"""OWASP's scrypt N=2^15, r=8, p=3 (32 MiB, like werkzeug's default, three times the work)."""
UNKNOWN_NAME = "(unknown name)"
"""The audit actor of a failed sign-in whose name is no account: the typed text is never kept."""


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a failed sign-in takes as long either way (made on
    first use, not at import: hashing costs ~0.1 s)."""
    return generate_password_hash("not-a-real-password-at-all", method=HASH_METHOD)


class UserError(ValueError):
    """A user cannot be added or changed as asked (the message says why)."""


@dataclass(frozen=True)
class SignIn:
    """What a sign-in try came to: a user with a new session, or why not."""

    user: User | None = None
    outcome: str = "failed"
    """`signed_in`, `failed` (unknown name or wrong password), `locked` or `busy`."""
    retry_after_s: int = 0


@dataclass(frozen=True)
class User:
    """A signed-in person, as Flask-Login sees them."""

    name: str
    role: str
    password_hash: str
    must_change_password: bool = False
    session: str = ""
    """The session id this user object was loaded for (Flask-Login keeps it in the cookie)."""
    subject: str = ""
    """`local:<name>` or `oidc:<subject>`: what the audit rows and a revoke name."""
    method: str = "password"
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.session

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


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

    def __init__(self, url: str, policy: guard.Policy | None = None) -> None:
        self.url = url
        self._engine: sa.Engine | None = None
        self._policy = policy
        self._sessions: Sessions | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            engine = make_engine(self.url, "ui")
            ready(engine)
            self._engine = engine
        return self._engine

    @property
    def policy(self) -> guard.Policy:
        if self._policy is None:
            self._policy = guard.Policy.from_settings()
        return self._policy

    @property
    def sessions(self) -> Sessions:
        if self._sessions is None:
            from churn.settings import get_settings

            ui = get_settings().ui
            self._sessions = Sessions(self.engine, ui.session_max_s, ui.session_idle_s)
        return self._sessions

    def _audit(
        self, conn: sa.Connection, door: str, action: str, actor: str, address: str, what: str
    ) -> None:
        """One audit row (`door`: the row's `model_name`, the UI it came through; `to_version`:
        the client address); written in the caller's transaction: no audit row, no session."""
        from churn.db.audit import AuditEvent, insert

        address = (address or "unknown")[:64]
        actor = " ".join(actor.split())[:128] or "(blank)"
        insert(conn, AuditEvent(action, "ui", actor, door, None, address, f"{what} from {address}"))

    def audit(self, door: str, action: str, actor: str, address: str, what: str) -> None:
        """One audit row in a transaction of its own (e.g. a refused provider sign-in)."""
        with self.engine.begin() as conn:
            self._audit(conn, door, action, actor, address, what)

    def sign_in(self, door: str, name: str, password: str, address: str) -> SignIn:
        """The one password sign-in of both UIs (see the module docstring)."""
        policy = self.policy
        name = name.strip()
        user = self.get(name) if 0 < len(name) <= MAX_NAME_LENGTH else None
        keys = [(guard.address_key(address), policy.address_tries)]
        if user is not None:
            keys.append((guard.account_key(user.name), policy.lockout_tries))
        now = dt.datetime.now(dt.UTC)
        refusal: guard.Refusal | None = None
        with self.engine.begin() as conn:
            for key, limit in keys:
                refusal = guard.count_try(conn, key, limit, policy, now)
                if refusal is not None:
                    break
            if refusal is not None and refusal.newly_locked:
                what = "account" if refusal.key.startswith("account:") else "client address"
                actor = user.name if user is not None else UNKNOWN_NAME
                self._audit(
                    conn,
                    door,
                    "sign_in_locked",
                    actor,
                    address,
                    f"{what} locked for {refusal.retry_after_s} s after too many tries",
                )
        if refusal is not None:
            return SignIn(outcome="locked", retry_after_s=refusal.retry_after_s)
        slots = guard.check_slots()
        if not slots.acquire():
            return SignIn(outcome="busy", retry_after_s=5)
        try:
            good = check_password_hash(user.password_hash if user else _dummy_hash(), password)
        finally:
            slots.release()
        if user is None or not good:
            with self.engine.begin() as conn:
                actor = user.name if user is not None else UNKNOWN_NAME
                self._audit(
                    conn,
                    door,
                    "sign_in_failed",
                    actor,
                    address,
                    "wrong password" if user is not None else "unknown name",
                )
            return SignIn(outcome="failed")
        if not user.password_hash.startswith(HASH_METHOD + "$"):
            user = self._rehash(user, password)
        with self.engine.begin() as conn:
            guard.clear(conn, guard.account_key(user.name))
            guard.give_back(conn, guard.address_key(address))
            self._audit(conn, door, "sign_in", user.name, address, f"signed in as {user.role}")
            info = self.sessions.start(
                conn, local_subject(user.name), user.name, user.role, "password", address
            )
        return SignIn(self._with_session(user, info), "signed_in")

    def start_external(self, door: str, subject: str, name: str, role: str, address: str) -> User:
        """A session for a person the OpenID provider signed in (audited with the subject)."""
        with self.engine.begin() as conn:
            self._audit(conn, door, "sign_in", subject, address, f"signed in as {role} (oidc)")
            info = self.sessions.start(conn, subject, name, role, "oidc", address)
        return User(name, role, "", session=info.token, subject=subject, method="oidc")

    def adopt_external(
        self,
        door: str,
        token: str,
        subject: str,
        name: str,
        role: str,
        address: str,
        signed_in_at: dt.datetime,
    ) -> User | None:
        """The dashboard's provider sign-in (`st.login`): its session row, made and audited on
        first sight; None once that session has ended (signed out, revoked, expired)."""
        with self.engine.begin() as conn:
            if self.sessions.adopt(conn, token, subject, name, role, address, signed_in_at):
                self._audit(conn, door, "sign_in", subject, address, f"signed in as {role} (oidc)")
        return self.session_user(token)

    def _with_session(self, user: User, info: SessionInfo) -> User:
        return replace(user, session=info.token, subject=info.subject, method=info.method)

    def session_user(self, token: str | None) -> User | None:
        """The user of a live session; a local account is re-read (removed: no user)."""
        info = self.sessions.get(token)
        if info is None:
            return None
        if info.method != "password":
            return User(
                info.name,
                info.role,
                "",
                session=info.token,
                subject=info.subject,
                method=info.method,
            )
        user = self.get(info.name)
        return None if user is None else self._with_session(user, info)

    def sign_out(self, door: str, token: str | None, address: str) -> User | None:
        """End the session everywhere (audited); the user it was, or None."""
        info = self.sessions.end(token)
        if info is None:
            return None
        with self.engine.begin() as conn:
            self._audit(conn, door, "sign_out", _actor(info), address, "signed out")
        return User(info.name, info.role, "", subject=info.subject, method=info.method)

    def revoke(self, door: str, subject: str, actor: str, address: str = "") -> int:
        """An admin's "end this person's sessions": every live one, everywhere (audited)."""
        with self.engine.begin() as conn:
            ended = self.sessions.revoke_subject(conn, subject)
            self._audit(
                conn,
                door,
                "session_revoke",
                actor,
                address,
                f"ended {ended} session(s) of {subject}",
            )
        return ended

    def add(self, name: str, password: str, role: str, must_change: bool = False) -> User:
        name, role = check_name(name), check_role(role)
        password_hash = generate_password_hash(check_password(password), method=HASH_METHOD)
        insert = users_table.insert().values(
            name=name,
            password_hash=password_hash,
            role=role,
            created_at=dt.datetime.now(dt.UTC),
            must_change_password=must_change,
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(insert)
        except sa.exc.IntegrityError as exc:
            raise UserError(f"user {name!r} already exists") from exc
        return User(
            name=name, role=role, password_hash=password_hash, must_change_password=must_change
        )

    def _rehash(self, user: User, password: str) -> User:
        password_hash = generate_password_hash(password, method=HASH_METHOD)
        with self.engine.begin() as conn:
            conn.execute(
                users_table.update()
                .where(users_table.c.name == user.name)
                .values(password_hash=password_hash)
            )
        return replace(user, password_hash=password_hash)

    def change_password(
        self, door: str, user: User, current: str, new: str, address: str = ""
    ) -> None:
        """The person's own change: the current password checked, every other session ended."""
        if current == new:
            raise UserError("the new password must differ from the current one")
        check_password(new)
        stored = self.get(user.name)
        if stored is None:
            raise UserError("the account is gone")
        key, now = guard.account_key(stored.name), dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:  # a stolen session cannot guess the password either
            refusal = guard.count_try(conn, key, self.policy.lockout_tries, self.policy, now)
        if refusal is not None:
            raise UserError(f"too many tries: try again in {refusal.retry_after_s} seconds")
        if not check_password_hash(stored.password_hash, current):
            raise UserError("the current password is wrong")
        password_hash = generate_password_hash(new, method=HASH_METHOD)
        with self.engine.begin() as conn:
            conn.execute(
                users_table.update()
                .where(users_table.c.name == user.name)
                .values(
                    password_hash=password_hash,
                    must_change_password=False,
                    password_changed_at=dt.datetime.now(dt.UTC),
                )
            )
            guard.clear(conn, key)
            self._audit(conn, door, "password_change", user.name, address, "password changed")
            self.sessions.revoke_subject(conn, local_subject(user.name), keep=user.session)

    def get(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = row_by(conn, users_table.c.name, name)
        if row is None:
            return None
        return User(
            name=str(row["name"]),
            role=str(row["role"]),
            password_hash=str(row["password_hash"]),
            must_change_password=bool(row["must_change_password"]),
            subject=local_subject(str(row["name"])),
        )

    def list(self) -> list[dict[str, Any]]:
        query = sa.select(users_table.c.name, users_table.c.role, users_table.c.created_at)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(users_table.c.name)).mappings()]

    def remove(self, name: str) -> bool:
        """Remove the account; its sessions end with it."""
        with self.engine.begin() as conn:
            result = conn.execute(users_table.delete().where(users_table.c.name == name))
            self.sessions.revoke_subject(conn, local_subject(name))
        return bool(result.rowcount)

    def authenticate(self, name: str, password: str) -> User | None:
        """The password check alone (no count, no session): for tests and scripts; the UIs
        call `sign_in`."""
        user = self.get(name.strip())
        if user is None:
            check_password_hash(_dummy_hash(), password)
            return None
        return user if check_password_hash(user.password_hash, password) else None


def _actor(info: SessionInfo) -> str:
    return info.name if info.method == "password" else info.subject
