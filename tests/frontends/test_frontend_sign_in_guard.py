"""Password guessing is bounded in the project database (churn/db/sign_in_guard.py), whatever
the UI, the worker or the browser session: per account and per client address, with a lockout
that doubles, and at most `CHURN_UI_PASSWORD_CHECKS` hashes at once per process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest
from test_frontend_flask import PASSWORDS, _app

from churn.db.audit import recent
from churn.db.sign_in_guard import Policy, trusted_client
from churn.db.tables import sign_in_limits
from churn.db.users import UNKNOWN_NAME, UserStore
from frontends.streamlit_app.signin import LOCKED

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REPO_ROOT = Path(__file__).resolve().parents[2]

STORM = Path(__file__).with_name("sign_in_storm.py")


def test_200_parallel_failed_sign_ins_lock_the_account_and_memory_stays_bounded(
    tmp_path: Path,
) -> None:
    """200 tries at once against one account (each from its own address, so only the account's
    count can stop them): five reach the password check, the rest are refused before hashing,
    and then even the right password waits. 200 unknown names at once all hash (a dummy hash,
    so timing says nothing), but never more than `password_checks` at a time: the process's
    peak memory grows by a few checks' worth (32 MiB each), not 200."""
    env = {**os.environ, "CHURN_UI_PASSWORD_CHECKS": "2"}
    out = subprocess.run(
        [sys.executable, str(STORM), str(tmp_path), str(REPO_ROOT)],
        capture_output=True, text=True, timeout=500, cwd=REPO_ROOT, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["against_one"] == {"401": 5, "429": 195}, result
    assert result["right_password"] == 429
    assert set(result["unknown_names"]) <= {"401", "503"} and "401" in result["unknown_names"]
    assert result["slots"] == 2 and 1 <= result["peak_checks"] <= 2
    assert result["rss_growth_mib"] < 4 * 32, result  # 200 unbounded checks: 6400 MiB
    events = recent(500, url=f"sqlite:///{tmp_path / 'users.db'}", actions=["sign_in_locked"])
    assert [(e.actor, e.reason.split(" from ")[0]) for e in events] == [
        ("analyst", "account locked for 60 s after too many tries")
    ]  # audited once, when the lock was set
    everything = " ".join(
        str(e.as_dict()) for e in recent(1000, url=f"sqlite:///{tmp_path / 'users.db'}")
    )
    assert "nobody-" not in everything  # unknown names are never stored


def test_a_new_dashboard_session_gets_no_fresh_count(dead_url: str, tmp_path: Path) -> None:
    """The review's finding: each websocket session used to start a fresh count. Now tries in
    one dashboard session count in the next and in the Flask UI (one database)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    app = _app(dead_url, tmp_path, USERS_DB=url)
    page = str(REPO_ROOT / "frontends" / "streamlit_app" / "pages" / "3_Model.py")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHURN_PREDICTION_DB", url)
        for _ in range(5):  # five browser sessions, one wrong try each
            at = AppTest.from_file(page, default_timeout=60)
            at.run()
            at.text_input[0].input("admin")
            at.text_input[1].input("wrong-password-here")
            at.button[0].click().run()
            assert "Unknown user name or wrong password." in [e.value for e in at.error]
        at = AppTest.from_file(page, default_timeout=60)
        at.run()
        at.text_input[0].input("admin")
        at.text_input[1].input(PASSWORDS["admin"])
        at.button[0].click().run()
        assert [e.value for e in at.error] == [LOCKED.format(s=60)]
    answer = app.test_client().post(
        "/login", data={"name": "admin", "password": PASSWORDS["admin"]}
    )
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) <= 60


def _past(url: str, key: str) -> None:
    """As if the lock had run out (no waiting in tests)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        ago = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        conn.execute(
            sign_in_limits.update().where(sign_in_limits.c.key == key).values(locked_until=ago)
        )
    engine.dispose()


def _lock_length(url: str, key: str) -> float:
    """How long the current lock was set for (from the try that set it)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(sign_in_limits.c.last_try_at, sign_in_limits.c.locked_until).where(
                sign_in_limits.c.key == key
            )
        ).one()
    engine.dispose()
    return round((row.locked_until - row.last_try_at).total_seconds(), 3)


def test_after_each_lock_one_try_goes_through_and_a_failure_doubles_the_lock(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    store = UserStore(url, Policy(lockout_tries=2, lockout_s=10, lockout_max_s=35))
    store.add("ann", "ann-pass-phrase", "viewer")
    door, where = "test", "192.0.2.5"
    outcomes = [store.sign_in(door, "ann", "wrong-one", where).outcome for _ in range(2)]
    assert outcomes == ["failed", "failed"]
    waits = []
    for _ in range(3):
        refused = store.sign_in(door, "ann", "ann-pass-phrase", where)
        assert refused.outcome == "locked"  # even the right password waits
        waits.append(_lock_length(url, "account:ann"))
        _past(url, "account:ann")
        assert store.sign_in(door, "ann", "wrong-one", where).outcome == "failed"  # one try
    assert waits == [10.0, 20.0, 35.0]  # doubling, up to lockout_max_s
    _past(url, "account:ann")
    signed = store.sign_in(door, "ann", "ann-pass-phrase", where)
    assert signed.outcome == "signed_in" and signed.user is not None
    assert [store.sign_in(door, "ann", "wrong-one", where).outcome for _ in range(3)] == [
        "failed",
        "failed",
        "locked",
    ]  # fmt: skip  (the success cleared the count)


def test_one_address_guessing_many_names_is_locked_and_others_are_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = UserStore(url, Policy(address_tries=3))
    store.add("bob", "bob-pass-phrase", "viewer")
    tries = [store.sign_in("test", f"guess{i}", "x" * 12, "203.0.113.50").outcome for i in range(4)]
    assert tries == ["failed", "failed", "failed", "locked"]
    assert store.sign_in("test", "bob", "bob-pass-phrase", "203.0.113.50").outcome == "locked"
    assert store.sign_in("test", "bob", "bob-pass-phrase", "203.0.113.51").outcome == "signed_in"
    # a colleague's success from a shared address gives its try back
    store.sign_in("test", "bob", "bob-pass-phrase", "203.0.113.60")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(sign_in_limits.c.key, sign_in_limits.c.tries)).all())
    engine.dispose()
    assert rows["address:203.0.113.60"] == 0 and "account:bob" not in rows
    assert not any(k.startswith("account:guess") for k in rows)  # unknown names never stored
    events = recent(20, url=url, actions=["sign_in_failed", "sign_in_locked"])
    assert {e.actor for e in events} == {UNKNOWN_NAME}


@pytest.mark.parametrize(
    ("peer", "forwarded", "hops", "client"),
    [
        ("10.0.0.2", None, 0, "10.0.0.2"),
        ("10.0.0.2", "6.6.6.6", 0, "10.0.0.2"),  # no trusted proxy: the header is ignored
        ("10.0.0.2", "6.6.6.6, 198.51.100.4", 1, "198.51.100.4"),  # the client's claim skipped
        ("10.0.0.2", "198.51.100.4, 10.0.0.9", 2, "198.51.100.4"),
        ("10.0.0.2", "198.51.100.4", 2, "10.0.0.2"),  # fewer values than hops: not trusted
        (None, None, 1, ""),
    ],
)
def test_the_client_address_comes_from_the_trusted_hop(
    peer: str | None, forwarded: str | None, hops: int, client: str
) -> None:
    assert trusted_client(peer, forwarded, hops) == client
