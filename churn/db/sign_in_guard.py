"""Password guessing bounded across both UIs, every worker and every pod (`sign_in_limits`, 0011).

A try is counted BEFORE its password is checked, in one atomic UPDATE on the project database: a
hundred tries at once against one account see the counter go 1, 2, ... and only the first
`lockout_tries` reach the (memory-hungry) hash; the one after them locks the account for
`lockout_s`. When a lock ends, one try goes through and sets the next lock, twice as long (up to
`lockout_max_s`), which its success clears: a person still gets in, a guesser gets a try per lock.
A success clears the account's counter. The client address has its own, higher limit, counted only
on failures (a success gives its try back), so one office behind a NAT can still sign in.

Names that are not accounts are never stored: their tries count against the address only (the
typed name is sometimes a password typed in the wrong box). The password check itself runs under a
per-process semaphore (`password_checks`), so concurrent tries cannot exhaust memory.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from churn.db.sessions import insert_new
from churn.db.tables import sign_in_limits as limits

MAX_KEY = 96


@dataclass(frozen=True)
class Policy:
    lockout_tries: int = 5
    address_tries: int = 30
    lockout_s: float = 60.0
    lockout_max_s: float = 900.0
    try_window_s: float = 900.0

    @classmethod
    def from_settings(cls) -> Policy:
        from churn.settings import get_settings

        ui = get_settings().ui
        return cls(
            ui.lockout_tries, ui.address_tries, ui.lockout_s, ui.lockout_max_s, ui.try_window_s
        )

    def lock_for(self, over: int) -> float:
        """Seconds of lockout for the `over`-th try past the limit (1, 2, ...): doubling."""
        return min(self.lockout_s * 2 ** min(over - 1, 30), self.lockout_max_s)


@dataclass(frozen=True)
class Refusal:
    """A try refused before its password was checked."""

    key: str
    retry_after_s: int
    newly_locked: bool
    """True for the try that set the lock (audited once, not every refused try)."""


def account_key(name: str) -> str:
    return f"account:{name}"[:MAX_KEY]


def address_key(address: str) -> str:
    return f"address:{address or 'unknown'}"[:MAX_KEY]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite drops the zone: it is UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def _ensure_row(conn: sa.Connection, key: str, now: dt.datetime) -> None:
    insert_new(conn, limits, {"key": key, "tries": 0, "last_try_at": now, "locked_until": None})


def count_try(
    conn: sa.Connection, key: str, limit: int, policy: Policy, now: dt.datetime
) -> Refusal | None:
    """Count one try on `key` (in the caller's transaction); a Refusal when it is locked or this
    try goes over `limit` (which then locks it)."""
    _ensure_row(conn, key, now)
    stale = now - dt.timedelta(seconds=policy.try_window_s)
    free = sa.or_(limits.c.locked_until.is_(None), limits.c.locked_until <= now)
    tries = sa.case((limits.c.last_try_at < stale, 1), else_=limits.c.tries + 1)
    counted = conn.execute(
        limits.update()
        .where(limits.c.key == key, free)
        .values(tries=tries, last_try_at=now)
        .returning(limits.c.tries)
    ).first()
    if counted is None:  # locked: no count, no hash
        until = _utc(
            conn.execute(sa.select(limits.c.locked_until).where(limits.c.key == key)).scalar()
        )
        wait = (until - now).total_seconds() if until else policy.lockout_s
        return Refusal(key, max(1, int(wait + 0.999)), newly_locked=False)
    over = int(counted.tries) - limit
    if over <= 0:
        return None
    wait = policy.lock_for(over)
    until = now + dt.timedelta(seconds=wait)
    conn.execute(limits.update().where(limits.c.key == key).values(locked_until=until))
    if over == 1:  # the try that reaches the limit is refused and sets the first lock
        return Refusal(key, max(1, int(wait + 0.999)), newly_locked=True)
    return None  # after a lock, one try goes through, and it sets the next (doubled) lock


def clear(conn: sa.Connection, key: str) -> None:
    conn.execute(limits.delete().where(limits.c.key == key))


def give_back(conn: sa.Connection, key: str) -> None:
    """Undo one counted try (a success from this address)."""
    conn.execute(
        limits.update()
        .where(limits.c.key == key, limits.c.tries > 0)
        .values(tries=limits.c.tries - 1)
    )


def locked_until(conn: sa.Connection, key: str) -> dt.datetime | None:
    return _utc(conn.execute(sa.select(limits.c.locked_until).where(limits.c.key == key)).scalar())


class CheckSlots:
    """At most `n` password checks at once in this process; `acquire` waits `wait_s`, then
    gives up (the caller answers "busy", which costs no memory)."""

    def __init__(self, n: int, wait_s: float = 10.0) -> None:
        self.n = n
        self.wait_s = wait_s
        self._sem = threading.BoundedSemaphore(n)
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        """The most checks that ran at once (tests read it)."""

    def acquire(self) -> bool:
        if not self._sem.acquire(timeout=self.wait_s):
            return False
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        return True

    def release(self) -> None:
        with self._lock:
            self.running -= 1
        self._sem.release()


_slots: CheckSlots | None = None
_slots_lock = threading.Lock()


def check_slots() -> CheckSlots:
    """The process's one set of slots (sized by `CHURN_UI_PASSWORD_CHECKS`)."""
    global _slots
    with _slots_lock:
        if _slots is None:
            from churn.settings import get_settings

            _slots = CheckSlots(get_settings().ui.password_checks)
        return _slots


def trusted_client(peer: str | None, forwarded_for: str | None, hops: int) -> str:
    """The client address as the `hops`-th trusted proxy saw it (werkzeug ProxyFix's rule):
    the `hops`-th `X-Forwarded-For` value from the right; the peer when `hops` is 0 or the
    header has fewer values (anything further left is the client's own claim, never trusted)."""
    if hops > 0 and forwarded_for:
        values = [v.strip() for v in forwarded_for.split(",")]
        if len(values) >= hops and values[-hops]:
            return values[-hops][:64]
    return (peer or "")[:64]
