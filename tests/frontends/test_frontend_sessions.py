"""Server-side sessions (churn/db/sessions.py) and accounts: a fresh session id at sign-in, a
copied cookie dead after sign-out or an admin's revoke, the 8 h and 30 min limits, the `__Host-`
cookie behind TLS, the password change (forced for the first admin, whose file then goes), and
API tokens that expire (`churn auth token create --expires-in`)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from streamlit.testing.v1 import AppTest
from test_frontend_flask import PASSWORDS, _app, _sign_in

from churn.db.audit import recent
from churn.db.tables import ui_sessions
from churn.db.users import UserStore
from frontends.flask_app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def app(dead_url: str, tmp_path: Path) -> Flask:
    return _app(dead_url, tmp_path)


def _cookie(client: object) -> str:
    cookie = client.get_cookie("churn_session")  # type: ignore[attr-defined]
    return str(cookie.value) if cookie else ""


def _age(url: str, **ago: dt.timedelta) -> None:
    """Move every session's times back (as if that long had passed; no waiting in tests)."""
    now = dt.datetime.now(dt.UTC)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(ui_sessions.update().values({k: now - v for k, v in ago.items()}))
    engine.dispose()


def test_sign_in_makes_a_new_session_and_sign_out_kills_a_copied_cookie(app: Flask) -> None:
    client = app.test_client()
    client.get("/login")
    before = _cookie(client)
    signed = _sign_in(app, "viewer")
    first = _cookie(signed)
    assert first and first != before
    again = _sign_in(app, "viewer")
    assert _cookie(again) != first  # each sign-in its own session
    thief = app.test_client()
    thief.set_cookie("churn_session", first)
    assert thief.get("/").status_code == 200
    assert signed.post("/logout").status_code == 302
    assert thief.get("/").status_code == 302  # the server-side session is gone
    assert again.get("/").status_code == 200  # the other session lives on
    actions = [e.action for e in recent(5, url=app.config["USERS_DB"])]
    assert actions[0] == "sign_out"


@pytest.mark.parametrize(
    ("column", "ago", "alive"),
    [
        ("last_seen_at", dt.timedelta(minutes=29), True),
        ("last_seen_at", dt.timedelta(minutes=31), False),  # 30 min idle
        ("created_at", dt.timedelta(hours=7, minutes=50), True),
        ("created_at", dt.timedelta(hours=8, minutes=1), False),  # 8 h absolute
    ],
)
def test_sessions_end_after_30_minutes_idle_or_8_hours(
    app: Flask, column: str, ago: dt.timedelta, alive: bool
) -> None:
    client = _sign_in(app, "viewer")
    _age(app.config["USERS_DB"], **{column: ago})
    assert client.get("/").status_code == (200 if alive else 302)


def test_an_admins_revoke_ends_the_sessions_of_both_uis(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = app.config["USERS_DB"]
    monkeypatch.setenv("CHURN_PREDICTION_DB", url)
    viewer = _sign_in(app, "viewer")
    page = AppTest.from_file(str(REPO_ROOT / "frontends/streamlit_app/pages/3_Model.py"))
    page.run(timeout=60)
    page.text_input[0].input("viewer")
    page.text_input[1].input(PASSWORDS["viewer"])
    page.button[0].click().run(timeout=60)
    assert not page.text_input  # signed in to the dashboard
    admin = _sign_in(app, "admin")
    html = admin.get("/users").get_data(as_text=True)
    assert "local:viewer" in html
    csrf_free = admin.post("/users/revoke", data={"subject": "local:viewer"})
    assert csrf_free.status_code == 302
    assert viewer.get("/").status_code == 302
    page.run(timeout=60)
    assert [t.label for t in page.text_input] == ["User name", "Password"]
    assert admin.get("/").status_code == 200
    revoke = recent(5, url=url, actions=["session_revoke"])[0]
    assert (revoke.actor, revoke.reason.split(" from ")[0]) == (
        "admin",
        "ended 2 session(s) of local:viewer",
    )
    assert _sign_in(app, "analyst").post("/users/revoke", data={"subject": "x"}).status_code == 403


def test_behind_tls_the_session_cookie_is_host_prefixed(
    dead_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHURN_UI_SECURE_COOKIES", "true")
    app = create_app(
        {"SECRET_KEY": "k", "SERVICE_URL": dead_url, "WTF_CSRF_ENABLED": False,
         "USERS_DB": f"sqlite:///{tmp_path / 'tls.db'}", "BATCH_DIR": tmp_path / "b"}
    )  # fmt: skip
    app.extensions["churn_users"].add("tls", "tls-pass-phrase", "viewer")
    answer = app.test_client().post(
        "/login", data={"name": "tls", "password": "tls-pass-phrase"}, base_url="https://ui.test"
    )
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("__Host-churn_session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert "HttpOnly" in cookie and "Expires=" in cookie  # 8 h, not "until the browser closes"


def test_a_password_change_checks_the_current_one_and_ends_the_other_sessions(
    app: Flask,
) -> None:
    other = _sign_in(app, "analyst")
    client = _sign_in(app, "analyst")
    form = {"current": "wrong-password", "new": "brand-new-pass", "again": "brand-new-pass"}
    assert "the current password is wrong" in client.post("/password", data=form).get_data(
        as_text=True
    )
    form["current"] = PASSWORDS["analyst"]
    assert client.post("/password", data={**form, "again": "different"}).status_code == 400
    assert client.post("/password", data=form).status_code == 302
    assert client.get("/").status_code == 200  # this session stays
    assert other.get("/").status_code == 302  # every other one ends
    store: UserStore = app.extensions["churn_users"]
    assert store.authenticate("analyst", "brand-new-pass") is not None
    assert store.authenticate("analyst", PASSWORDS["analyst"]) is None
    assert recent(1, url=app.config["USERS_DB"])[0].action == "password_change"


@pytest.fixture()
def first_admin(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    secret_file = tmp_path / "local" / "first-admin.txt"
    env = {**os.environ, "CHURN_PREDICTION_DB": db, "CHURN_UI_ENV": "development",
           "CHURN_UI_FIRST_ADMIN_FILE": str(secret_file)}  # fmt: skip
    flask = str(Path(sys.executable).with_name("flask"))
    run = [flask, "--app", "frontends.flask_app:create_app", "users", "first-admin"]
    done = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    generated = secret_file.read_text().split()[1]
    assert str(secret_file) in done.stdout and generated not in done.stdout  # only in the file
    yield db, secret_file, generated


def test_the_first_admin_must_change_the_generated_password_and_its_file_goes(
    first_admin: tuple[str, Path, str], dead_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db, secret_file, generated = first_admin
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("CHURN_UI_FIRST_ADMIN_FILE", str(secret_file))
    from churn.settings import get_settings

    get_settings.cache_clear()
    try:
        app = _app(dead_url, tmp_path, USERS_DB=db)
        client = app.test_client()
        signed = client.post("/login", data={"name": "admin", "password": generated})
        assert signed.headers["Location"].endswith("/password")
        assert client.get("/users").headers["Location"].endswith("/password")  # nothing else
        form = {"current": generated, "new": "admins-own-pass", "again": "admins-own-pass"}
        assert client.post("/password", data=form).status_code == 302
        assert not secret_file.exists()
        assert client.get("/users").status_code == 200
    finally:
        get_settings.cache_clear()


def test_api_tokens_can_expire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from churn.cli import main
    from churn.db import tokens
    from churn.db.engine import make_engine
    from churn.settings import get_settings

    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    monkeypatch.setenv("CHURN_PREDICTION_DB", url)
    get_settings.cache_clear()
    try:
        assert main(["auth", "token", "create", "batch", "--expires-in", "30d"]) == 0
        assert main(["auth", "token", "create", "forever"]) == 0
        for bad in ["30", "0d", "2y", "99999d"]:
            assert main(["auth", "token", "create", "x", "--expires-in", bad]) == 2
        listed = {t.name: t for t in tokens.list_tokens(url=url)}
        left = listed["batch"].expires_at - dt.datetime.now(dt.UTC)  # type: ignore[operator]
        assert dt.timedelta(days=29, hours=23) < left <= dt.timedelta(days=30)
        assert listed["forever"].expires_at is None
        engine = make_engine(url)
        assert len(tokens.active_hashes(engine)) == 2
        with engine.begin() as conn:  # as if 30 days had passed
            past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            conn.execute(
                sa.text("UPDATE api_tokens SET expires_at = :t WHERE name = 'batch'"), {"t": past}
            )
        assert list(tokens.active_hashes(engine).values()) == ["predict"]  # only "forever"
        engine.dispose()
        created = recent(5, url=url, actions=["token_create"])
        assert re.search(r"expires_in=30 days", created[-1].reason)
    finally:
        get_settings.cache_clear()
