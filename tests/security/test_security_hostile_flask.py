"""The hostile-input suite against the Flask UI over real HTTP (werkzeug on loopback, CSRF on,
scoring through the live service with its token): every case is refused with a 4xx and never a
traceback, formula and script payloads come back neutralised or escaped, and the app stays up."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES
from frontends.flask_app import create_app
from tests.fixtures.launcher import RunningService
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="module")
def ui(
    start: Callable[..., RunningService], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    service = start(f"hostile-ui-{os.getpid()}")
    tmp = tmp_path_factory.mktemp("hostile-ui")
    app = create_app(
        {
            "SECRET_KEY": "hostile-secret",
            "SERVICE_URL": service.url,
            "SERVICE_TOKEN": service.token,
            "SERVICE_RETRIES": 0,
            "BATCH_DIR": tmp / "batches",
            "USERS_DB": f"sqlite:///{tmp / 'users.db'}",
            "RATE_LIMIT": "10000 per minute",
            "MAX_CONTENT_LENGTH": 1024 * 1024,
        }
    )
    app.extensions["churn_users"].add("ana", PASSWORD, "analyst")
    app.extensions["churn_users"].add("vic", PASSWORD, "viewer")
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def csrf(session: requests.Session, url: str) -> str:
    match = CSRF.search(session.get(url, timeout=30).text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def signed_in(ui: str, name: str = "ana") -> requests.Session:
    session = requests.Session()
    token = csrf(session, f"{ui}/login")
    resp = session.post(
        f"{ui}/login",
        data={"name": name, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 302, resp.text[:500]
    return session


def _clean(resp: requests.Response) -> None:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:500])
    assert "Traceback" not in resp.text and 'File "/' not in resp.text


LOGIN_ABUSE: dict[str, dict[str, str]] = {
    "empty": {"name": "", "password": ""},
    "wrong password": {"name": "ana", "password": "wrong"},
    "sql injection": {"name": "ana' OR '1'='1' --", "password": "x' OR '1'='1"},
    "huge name": {"name": "a" * 100_000, "password": "x"},
    "huge password": {"name": "ana", "password": "p" * 1_000_000},
    "unicode name": {"name": "ａｎａ", "password": PASSWORD},
    "nul byte": {"name": "ana\x00", "password": PASSWORD},
    "case variant": {"name": "ANA", "password": PASSWORD},
}


@pytest.mark.parametrize("case", list(LOGIN_ABUSE))
def test_sign_in_abuse_is_refused(ui: str, case: str) -> None:
    session = requests.Session()
    data = {**LOGIN_ABUSE[case], "csrf_token": csrf(session, f"{ui}/login")}
    resp = session.post(f"{ui}/login", data=data, allow_redirects=False, timeout=30)
    _clean(resp)
    assert session.get(f"{ui}/score", allow_redirects=False, timeout=30).status_code == 302


@pytest.mark.parametrize("path", ["/login", "/score", "/batch", "/logout"])
def test_posts_without_csrf_token_are_refused(ui: str, path: str) -> None:
    session = signed_in(ui) if path != "/login" else requests.Session()
    data = {"name": "ana", "password": PASSWORD, **EXAMPLE_RECORD}
    _clean(session.post(f"{ui}{path}", data=data, allow_redirects=False, timeout=30))


DOWNLOAD_TRICKS = [
    "/batch/../../etc/passwd.csv",
    "/batch/%2e%2e%2f%2e%2e%2fetc%2fpasswd.csv",
    "/batch/..%2f..%2fusers.db.csv",
    "/batch/abc.csv",
    "/batch/" + "0" * 64 + ".csv",
    "/batch/%00.csv",
    "/batch/" + "a" * 5000 + ".csv",
]


@pytest.mark.parametrize("path", DOWNLOAD_TRICKS)
def test_download_path_tricks_find_nothing(ui: str, path: str) -> None:
    session = signed_in(ui)
    resp = session.get(f"{ui}{path}", allow_redirects=False, timeout=30)
    _clean(resp)
    assert "root:" not in resp.text


SCORE_ABUSE: dict[str, dict[str, Any]] = {
    "tenure fraction": {"tenure": "12.5"},
    "tenure nan": {"tenure": "NaN"},
    "tenure huge": {"tenure": "1e9"},
    "tenure negative": {"tenure": "-1"},
    "charges infinity": {"MonthlyCharges": "Infinity"},
    "charges script": {"MonthlyCharges": "<script>alert(1)</script>"},
    "unknown category": {"Contract": "Weekly"},
    "formula category": {"gender": '=HYPERLINK("http://x")'},
    "customer id too long": {"customerID": "x" * 5000},
}


@pytest.mark.parametrize("case", list(SCORE_ABUSE))
def test_score_form_abuse_is_a_400_naming_the_field(ui: str, case: str) -> None:
    session = signed_in(ui)
    data = {**EXAMPLE_RECORD, **SCORE_ABUSE[case], "csrf_token": csrf(session, f"{ui}/score")}
    resp = session.post(f"{ui}/score", data=data, timeout=30)
    _clean(resp)
    assert "<script>alert(1)</script>" not in resp.text  # echoed values are escaped


def _upload(session: requests.Session, ui: str, content: bytes, name: str) -> requests.Response:
    token = csrf(session, f"{ui}/batch")
    return session.post(
        f"{ui}/batch",
        data={"csrf_token": token},
        files={"file": (name, content, "text/csv")},
        timeout=60,
    )


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["customerID", *FEATURE_NAMES])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


UPLOAD_ABUSE: dict[str, bytes] = {
    "empty file": b"",
    "header only": _csv([]),
    "gzip bytes": gzip.compress(_csv([EXAMPLE_RECORD])),
    "binary": bytes(range(256)) * 8,
    "utf-16": _csv([EXAMPLE_RECORD]).decode().encode("utf-16"),
    "over the size limit": b"a," * (600 * 1024),
    "one huge line": b"customerID," + b"x" * 900_000,
}


@pytest.mark.parametrize("case", list(UPLOAD_ABUSE))
def test_upload_abuse_is_refused(ui: str, case: str) -> None:
    _clean(_upload(signed_in(ui), ui, UPLOAD_ABUSE[case], "customers.csv"))


def test_formula_and_script_payloads_come_back_neutralised(ui: str) -> None:
    session = signed_in(ui)
    payloads = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "<script>alert(1)</script>"]
    rows = [{**EXAMPLE_RECORD, "customerID": p} for p in payloads]
    page = _upload(session, ui, _csv(rows), "evil.csv")
    assert page.status_code == 200, page.text[:500]
    assert "<script>alert(1)</script>" not in page.text
    token = re.search(r"/batch/([A-Za-z0-9_-]+)\.csv", page.text)
    assert token, "no download link"
    download = session.get(f"{ui}/batch/{token.group(1)}.csv", timeout=30)
    assert download.status_code == 200
    ids = [r["customerID"] for r in csv.DictReader(io.StringIO(download.text))]
    assert sorted(ids) == sorted("'" + p if p[0] in "=+-@" else p for p in payloads)


def test_a_viewer_cannot_score_and_json_clients_get_json(ui: str) -> None:
    viewer = signed_in(ui, "vic")
    data = {**EXAMPLE_RECORD, "csrf_token": csrf(viewer, f"{ui}/score")}
    _clean(viewer.post(f"{ui}/score", data=data, timeout=30))
    anonymous = requests.get(f"{ui}/model", headers={"Accept": "application/json"}, timeout=30)
    _clean(anonymous)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/json")
    assert isinstance(anonymous.json(), dict)


def test_the_ui_is_still_up_after_the_suite(ui: str) -> None:
    assert requests.get(f"{ui}/healthz", timeout=30).status_code == 200
    session = signed_in(ui)
    data = {**EXAMPLE_RECORD, "csrf_token": csrf(session, f"{ui}/score")}
    assert session.post(f"{ui}/score", data=data, timeout=30).status_code == 200
