"""Sign-in, roles, the users CLI, formula-safe CSVs and the rate limits of the Flask UI, over HTTP
with the Flask test client (the real churn service on loopback where a page scores)."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from test_frontend_flask import PASSWORDS, _app, _sign_in, _text

from churn.generator import generate, to_csv_text
from churn.schema import EXAMPLE_RECORD
from frontends.flask_app import ConfigError, create_app, upload_rows
from frontends.flask_app.auth import SIGN_IN_FAILED, UserError, UserStore
from frontends.flask_app.csv_safety import neutralise, neutralise_cell

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PAGES = [
    "/", "/score", "/batch", "/model", "/users", "/audit", "/batch/abcdefghijklmnopqrstuvwxyz.csv",
]  # fmt: skip


@pytest.fixture()
def app(dead_url: str, tmp_path: Path) -> Flask:
    """An app whose service is down: enough for every check that never reaches scoring."""
    return _app(dead_url, tmp_path)


def _upload(client: FlaskClient, text: str, name: str = "customers.csv") -> Any:
    return client.post(
        "/batch",
        data={"file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_sign_in(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path]


def test_signed_out_posts_are_refused_and_json_clients_get_a_401(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/score", data=EXAMPLE_RECORD).status_code == 302
    answer = client.get("/model", headers={"Accept": "application/json"})
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "unauthorized"


@pytest.mark.parametrize("path", ["/login", "/healthz", "/metrics"])
def test_sign_in_health_and_metrics_stay_open(app: Flask, path: str) -> None:
    assert app.test_client().get(path).status_code == 200


def test_failed_sign_in_does_not_say_which_part_was_wrong(app: Flask) -> None:
    client = app.test_client()
    unknown = client.post("/login", data={"name": "nobody", "password": PASSWORDS["admin"]})
    wrong = client.post("/login", data={"name": "admin", "password": "not-the-password"})
    for response in (unknown, wrong):
        assert response.status_code == 401
        html = _text(response)
        assert SIGN_IN_FAILED in html
        assert 'id="signed-in-as"' not in html
    assert client.get("/").status_code == 302  # still signed out
    empty = client.post("/login", data={"name": "", "password": ""})
    assert empty.status_code == 400
    assert 'data-field="name"' in _text(empty)


def test_sign_in_goes_to_next_shows_the_name_and_sign_out_ends_it(app: Flask) -> None:
    client = app.test_client()
    response = client.post(
        "/login?next=/model", data={"name": "viewer", "password": PASSWORDS["viewer"]}
    )
    assert response.headers["Location"] == "/model"
    html = _text(client.get("/"))
    assert 'id="signed-in-as">viewer<' in html
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


OFF_SITE = ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site(app: Flask, target: str) -> None:
    response = app.test_client().post(
        "/login",
        query_string={"next": target},
        data={"name": "viewer", "password": PASSWORDS["viewer"]},
    )
    assert response.headers["Location"] == "/"


def test_sign_in_form_needs_its_csrf_token(dead_url: str, tmp_path: Path) -> None:
    app = _app(dead_url, tmp_path, WTF_CSRF_ENABLED=True)
    response = app.test_client().post(
        "/login", data={"name": "viewer", "password": PASSWORDS["viewer"]}
    )
    assert response.status_code == 400
    assert "security token" in _text(response)
    _sign_in(app, "viewer")  # with the token from the page: signed in (asserts the 302)


def test_viewer_looks_but_cannot_score_upload_download_or_manage(app: Flask) -> None:
    viewer = _sign_in(app, "viewer")
    assert viewer.get("/score").status_code == 200
    for response in (
        viewer.post("/score", data=EXAMPLE_RECORD),
        _upload(viewer, to_csv_text(generate(5, seed=1))),
        viewer.get("/batch/abcdefghijklmnopqrstuvwxyz.csv"),
        viewer.get("/users"),
        viewer.get("/audit"),
    ):
        assert response.status_code == 403
        html = _text(response)
        assert "you are signed in as viewer (viewer)" in html
    as_json = viewer.post("/score", data=EXAMPLE_RECORD, headers={"Accept": "application/json"})
    assert as_json.status_code == 403
    body = as_json.get_json()
    assert body["status"] == 403
    assert "analyst role" in body["detail"]


def test_analyst_scores_and_uploads_but_cannot_manage_users(
    service_url: str, tmp_path: Path
) -> None:
    analyst = _sign_in(_app(service_url, tmp_path), "analyst")
    assert analyst.post("/score", data=EXAMPLE_RECORD).status_code == 200
    assert _upload(analyst, to_csv_text(generate(5, seed=1))).status_code == 200
    forbidden = analyst.get("/users")
    assert forbidden.status_code == 403
    assert "admin role" in _text(forbidden)


def test_admin_sees_the_audit_trail_of_the_project_database(app: Flask) -> None:
    from churn.db.audit import AuditEvent, record

    url = app.config["USERS_DB"]
    admin = _sign_in(app, "admin")
    record(AuditEvent("promote", "cli", "alice", "telco_churn", "1", "2", "better <b>AUC</b>"), url)
    record(AuditEvent("rollback", "pipeline", "monitoring", "telco_churn", "2", "1", "drop"), url)
    html = _text(admin.get("/audit"))
    rows = re.findall(r"<tr><td>[^<]+</td><td>(\w+)</td><td>([^<]+)</td><td>(\w+)</td>", html)
    assert rows == [
        ("rollback", "monitoring", "pipeline"),
        ("promote", "alice", "cli"),
        ("sign_in", "admin", "ui"),  # the admin's own sign-in
    ]
    assert "better &lt;b&gt;AUC&lt;/b&gt;" in html  # escaped, never markup
    assert _sign_in(app, "analyst").get("/audit").status_code == 403


def test_sign_ins_and_failed_sign_ins_are_audited_never_the_password(
    app: Flask, tmp_path: Path
) -> None:
    from churn.db.audit import recent
    from tests.fixtures.db_faults import break_inserts

    url = app.config["USERS_DB"]
    client = app.test_client()
    guess = "correct-horse-battery-staple"
    assert client.post("/login", data={"name": "mallory", "password": guess}).status_code == 401
    assert client.post("/login", data={"name": "viewer", "password": guess}).status_code == 401
    assert client.post("/login", data={"name": " ", "password": guess}).status_code == 401
    _sign_in(app, "viewer")
    behind = _app(app.config["SERVICE_URL"], tmp_path, PROXY_HOPS=1).test_client()
    data = {"name": "analyst", "password": PASSWORDS["analyst"]}
    headers = {"X-Forwarded-For": "203.0.113.9"}
    assert behind.post("/login", data=data, headers=headers).status_code == 302
    events = recent(10, url=url, actions=["sign_in", "sign_in_failed"])
    seen = [(e.action, e.actor, e.source, e.to_version) for e in reversed(events)]
    assert seen == [
        ("sign_in_failed", "(unknown name)", "ui", "127.0.0.1"),  # never the typed name
        ("sign_in_failed", "viewer", "ui", "127.0.0.1"),
        ("sign_in_failed", "(unknown name)", "ui", "127.0.0.1"),
        ("sign_in", "viewer", "ui", "127.0.0.1"),
        ("sign_in", "analyst", "ui", "203.0.113.9"),  # the address the trusted proxy saw
    ]
    assert events[0].reason == "signed in as analyst from 203.0.113.9"
    stored = " ".join(str(e.as_dict()) for e in recent(50, url=url))
    assert guess not in stored and PASSWORDS["viewer"] not in stored and "mallory" not in stored
    # no audit row, no session: the sign-in fails whole
    break_inserts(url, "audit_log")
    client = app.test_client()
    admin = {"name": "admin", "password": PASSWORDS["admin"]}
    assert client.post("/login", data=admin).status_code == 500
    assert client.get("/").status_code == 302


def test_admin_sees_the_users_list_without_password_hashes(app: Flask) -> None:
    html = _text(_sign_in(app, "admin").get("/users"))
    users_table = html.split('id="users"')[1].split("</table>")[0]
    names = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", users_table)
    assert names == [("admin", "admin"), ("analyst", "analyst"), ("viewer", "viewer")]
    assert "scrypt" not in html and "pbkdf2" not in html


def test_a_removed_users_session_ends_at_the_next_request(app: Flask) -> None:
    client = _sign_in(app, "viewer")
    assert client.get("/").status_code == 200
    assert app.extensions["churn_users"].remove("viewer")
    assert client.get("/").status_code == 302


def test_a_new_password_ends_the_old_sessions(app: Flask) -> None:
    client = _sign_in(app, "viewer")
    store = app.extensions["churn_users"]
    store.remove("viewer")
    store.add("viewer", "a-brand-new-password", "viewer")
    assert client.get("/").status_code == 302


def test_user_store_creates_its_table_once_and_checks_its_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'project.db'}"
    UserStore(url).add("ann", "long-enough-pw", "analyst")
    again = UserStore(url)  # a second process on the same database: the table is reused
    assert [u["name"] for u in again.list()] == ["ann"]
    assert again.authenticate("ann", "long-enough-pw") is not None
    assert again.authenticate("ann", "wrong-password") is None
    stored = again.get("ann")
    assert stored is not None and stored.password_hash != "long-enough-pw"
    for name, password, role, problem in [
        ("ann", "long-enough-pw", "viewer", "already exists"),
        ("bob", "short", "viewer", "at least 10"),
        ("bob", "long-enough-pw", "root", "role must be one of"),
        ("a:b", "long-enough-pw", "viewer", "without ':'"),
        ("", "long-enough-pw", "viewer", "1-64 printable"),
    ]:
        with pytest.raises(UserError, match=problem):
            again.add(name, password, role)


def test_users_cli_adds_lists_and_removes(app: Flask) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=["users", "add", "carol", "--role", "admin", "--password-stdin"],
        input="carol-pass-phrase\n",
    )
    assert added.exit_code == 0, added.output
    assert "added carol (admin)" in added.output
    listing = runner.invoke(args=["users", "list"]).output
    assert re.search(r"^carol\tadmin\t", listing, re.M)
    assert "carol-pass-phrase" not in listing
    prompted = runner.invoke(args=["users", "add", "dave"], input="dave-pass-phrase\n" * 2)
    assert prompted.exit_code == 0 and "added dave (viewer)" in prompted.output
    short = runner.invoke(args=["users", "add", "erin", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 10" in short.output
    assert runner.invoke(args=["users", "remove", "carol"]).exit_code == 0
    missing = runner.invoke(args=["users", "remove", "carol"])
    assert missing.exit_code != 0 and "no user named 'carol'" in missing.output
    _sign_in(app, "admin")  # the fixture's users are untouched


def test_flask_users_cli_runs_for_real_against_the_project_database(tmp_path: Path) -> None:
    """`flask --app ... users add` in production mode: no secret key is needed to manage users."""
    db = f"sqlite:///{tmp_path / 'project.db'}"
    env = {**os.environ, "CHURN_PREDICTION_DB": db, "CHURN_UI_ENV": "production"}
    env.pop("FLASK_SECRET_KEY", None)
    flask = str(Path(sys.executable).with_name("flask"))
    base = [flask, "--app", "frontends.flask_app:create_app", "users"]
    added = subprocess.run(
        [*base, "add", "frank", "--role", "analyst", "--password-stdin"],
        input="frank-pass-phrase\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    user = UserStore(db).authenticate("frank", "frank-pass-phrase")
    assert user is not None and user.role == "analyst"


def test_first_admin_only_on_a_fresh_database(tmp_path: Path) -> None:
    """`make ui` runs `users first-admin`: a new installation gets one admin whose generated
    password is printed once; with any user present the command adds nobody."""
    db = f"sqlite:///{tmp_path / 'project.db'}"
    env = {**os.environ, "CHURN_PREDICTION_DB": db, "CHURN_UI_ENV": "development"}
    flask = str(Path(sys.executable).with_name("flask"))
    run = [flask, "--app", "frontends.flask_app:create_app", "users", "first-admin"]
    first = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    password = re.search(r"password (\S+) \(shown once", first.stdout)
    assert password is not None, first.stdout
    admin = UserStore(db).authenticate("admin", password.group(1))
    assert admin is not None and admin.role == "admin"
    again = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0 and again.stdout == ""
    assert [u["name"] for u in UserStore(db).list()] == ["admin"]


HOSTILE_IDS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "SAFE-1"]


def test_downloaded_csv_neutralises_formula_cells(service_url: str, tmp_path: Path) -> None:
    frame = generate(len(HOSTILE_IDS), seed=5)
    frame["customerID"] = HOSTILE_IDS
    analyst = _sign_in(_app(service_url, tmp_path))
    html = _text(_upload(analyst, to_csv_text(frame)))
    link = re.search(r'id="download-link" href="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    rows = list(csv.DictReader(io.StringIO(analyst.get(link).get_data(as_text=True))))
    ids = sorted(r["customerID"] for r in rows)
    kept = [v.strip() for v in HOSTILE_IDS]  # the upload parser trims blanks (tab, CR) itself
    expected = sorted(("'" + v) if v[0] in "=+-@" else v for v in kept)
    assert ids == expected
    assert all(not r["customerID"].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows)
    assert all(float(r["churn_probability"]) >= 0 for r in rows)  # numbers stay numbers


def test_neutralise_touches_only_text() -> None:
    frame = pd.DataFrame({"a": ["=1", "ok", None], "n": [-1.5, 2.0, 3.0], "=col": [1, 2, 3]})
    safe = neutralise(frame)
    assert safe["a"].tolist()[:2] == ["'=1", "ok"]
    assert safe["n"].tolist() == [-1.5, 2.0, 3.0]
    assert list(safe.columns) == ["a", "n", "'=col"]
    assert neutralise_cell(-3) == -3
    assert [neutralise_cell(v) for v in ("\tx", "\rx", "@x", "+x", "a=b")] == [
        "'\tx",
        "'\rx",
        "'@x",
        "'+x",
        "a=b",
    ]
    assert frame["a"].iloc[0] == "=1"  # the input is left as it was


def test_uploads_are_limited_by_rows_not_requests(service_url: str, tmp_path: Path) -> None:
    app = _app(service_url, tmp_path, ROW_RATE_LIMIT="50 per hour")
    analyst = _sign_in(app)
    text = to_csv_text(generate(30, seed=2))
    assert _upload(analyst, text).status_code == 200  # 30 rows of 50
    refused = _upload(analyst, text)  # 60 > 50
    assert refused.status_code == 429
    assert "too fast" in _text(refused)
    small = to_csv_text(generate(3, seed=2))
    assert _upload(analyst, small).status_code == 200  # 33 + 3 rows: fits


def test_upload_cost_counts_data_lines(app: Flask) -> None:
    for body, rows in [(b"h\n1\n2\n", 2), (b"h\n1\n2", 2), (b"h\n", 1), (b"", 1)]:
        with app.test_request_context(
            "/batch",
            method="POST",
            data={"file": (io.BytesIO(body), "x.csv")},
            content_type="multipart/form-data",
        ):
            assert upload_rows() == rows


def _score_from(client: FlaskClient, address: str) -> int:
    # An empty form is refused (400) before any service call, but still counts against the limit.
    return client.post("/score", data={}, headers={"X-Forwarded-For": address}).status_code


def test_behind_a_proxy_each_client_address_has_its_own_limit(app: Flask, tmp_path: Path) -> None:
    url = app.config["SERVICE_URL"]
    behind = _sign_in(_app(url, tmp_path, RATE_LIMIT="1 per minute", PROXY_HOPS=1))
    assert [_score_from(behind, "10.0.0.1"), _score_from(behind, "10.0.0.1")] == [400, 429]
    assert _score_from(behind, "10.0.0.2") == 400  # another person behind the same proxy


def test_without_proxy_hops_a_forged_forwarded_for_is_ignored(app: Flask, tmp_path: Path) -> None:
    direct = _sign_in(_app(app.config["SERVICE_URL"], tmp_path, RATE_LIMIT="1 per minute"))
    assert [_score_from(direct, "10.0.0.1"), _score_from(direct, "10.0.0.2")] == [400, 429]


def test_sign_in_attempts_are_limited_per_client_address(dead_url: str, tmp_path: Path) -> None:
    from churn.db.sign_in_guard import Policy

    client = _app(dead_url, tmp_path, SIGN_IN_POLICY=Policy(address_tries=3)).test_client()
    bad = {"name": "x", "password": "y"}
    tries = [client.post("/login", data=bad) for _ in range(4)]
    assert [t.status_code for t in tries] == [401, 401, 401, 429]
    assert "Too many sign-in tries: try again in 60 seconds." in tries[-1].get_data(as_text=True)
    assert tries[-1].headers["Retry-After"] == "60"


def test_rate_limit_storage_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHURN_UI_ENV", "development")
    monkeypatch.setenv("CHURN_RATE_LIMIT_STORAGE", "memory://")
    monkeypatch.setenv("CHURN_PROXY_HOPS", "2")
    app = create_app({"USERS_DB": f"sqlite:///{tmp_path / 'u.db'}"})
    assert app.config["RATE_LIMIT_STORAGE"] == "memory://"
    assert app.config["PROXY_HOPS"] == 2
    monkeypatch.setenv("CHURN_RATE_LIMIT_STORAGE", "nosuchstore://host")
    with pytest.raises(ConfigError, match="CHURN_RATE_LIMIT_STORAGE"):
        create_app()
    monkeypatch.setenv("CHURN_RATE_LIMIT_STORAGE", "memory://")
    monkeypatch.setenv("CHURN_PROXY_HOPS", "-1")
    with pytest.raises(ConfigError, match="CHURN_PROXY_HOPS"):
        create_app()
