"""A person in headless Chromium: the Flask UI under gunicorn and the Streamlit dashboard, both
served for real on loopback, in front of the real churn service. Screenshots go to
`$CHURN_REPORTS_DIR/screenshots/`."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import frontend_servers as servers
import pytest

from churn.generator import generate, to_csv_text
from tests.fixtures.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.http import wait_for_http

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

STREAMLIT_PAGES = {
    "At_risk": "Highest-risk customers",
    "What_if": "Drivers",
    "Model": "Candidates of the production training run",
    "Monitoring": "Data drift",
}


FLASK_PASSWORDS = {role: f"{role}-browser-pass" for role in ("viewer", "analyst", "admin")}


def _reports_dir() -> Path:
    from churn.settings import Settings

    return Settings().reports_dir


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = _reports_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def _flask_users_db(session_dir: Path) -> str:
    """A users database for the UI with one user per role, named after the role (idempotent)."""
    from frontends.flask_app.auth import UserStore

    url = f"sqlite:///{session_dir / 'ui-users.db'}"
    store = UserStore(url)
    for role, password in FLASK_PASSWORDS.items():
        if store.get(role) is None:
            store.add(role, password, role)
    return url


def _sign_in(page: object, url: str, role: str) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{url}/login")  # type: ignore[attr-defined]
    page.fill("#name", role)  # type: ignore[attr-defined]
    page.fill("#password", FLASK_PASSWORDS[role])  # type: ignore[attr-defined]
    page.click("#sign-in-button")  # type: ignore[attr-defined]
    assert page.inner_text("#signed-in-as") == role  # type: ignore[attr-defined]


@contextlib.contextmanager
def _flask_under_gunicorn(service_url: str, session_dir: Path) -> Iterator[str]:
    """The Flask UI under gunicorn on a free loopback port, in front of `service_url`."""
    port = servers.free_port()
    log = session_dir / f"gunicorn-{port}.log"
    env = {
        "CHURN_PREDICTION_DB": _flask_users_db(session_dir),
        "FLASK_PORT": str(port),
        "FLASK_SECRET_KEY": "browser-test-secret",
        "CHURN_SERVICE_URL": service_url,
        "CHURN_UI_WORKERS": "1",
        "CHURN_UI_BATCH_DIR": str(session_dir / "ui-batches"),
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    conf = servers.REPO_ROOT / "frontends" / "flask_app" / "gunicorn.conf.py"
    proc = servers.start(
        [gunicorn, "-c", str(conf), "frontends.flask_app.wsgi:app"],
        cwd=servers.REPO_ROOT,
        log=log,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/healthz", 60, process=proc, log=log)
        yield url
    finally:
        servers.stop(proc)


@pytest.fixture(scope="module")
def flask_url(service_url: str, session_dir: Path) -> Iterator[str]:
    with _flask_under_gunicorn(service_url, session_dir) as url:
        yield url


@pytest.fixture(scope="module")
def drift_history() -> Path:
    folder = _reports_dir() / "drift"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "timestamp": f"2026-11-{day:02d}T06:00:00Z",
            "drift_detected": share > 0.3,
            "drift_share": share,
            "drifted_features": ["MonthlyCharges"] if share > 0.3 else [],
            "n_rows": 1000,
            "report_path": str(folder / f"drift_{day}.html"),
        }
        for day, share in ((20, 0.05), (21, 0.11), (22, 0.16), (23, 0.42), (24, 0.47))
    ]
    (folder / "drift_24.html").write_text("<html><body><h1>Drift report</h1></body></html>")
    path = folder / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def streamlit_url(service_url: str, session_dir: Path, drift_history: Path) -> Iterator[str]:
    port = servers.free_port()
    log = session_dir / f"streamlit-{port}.log"
    streamlit = str(Path(sys.executable).with_name("streamlit"))
    app = servers.REPO_ROOT / "frontends" / "streamlit_app" / "Home.py"
    cmd = [
        streamlit,
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = {"CHURN_SERVICE_URL": service_url, "CHURN_PREDICTION_DB": _flask_users_db(session_dir)}
    proc = servers.start(cmd, cwd=servers.REPO_ROOT, log=log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/_stcore/health", 90, process=proc, log=log)
        yield url
    finally:
        servers.stop(proc)


def _no_traceback(page: object) -> None:
    body = page.inner_text("body")  # type: ignore[attr-defined]
    assert "Traceback" not in body
    assert 'File "' not in body


def test_person_signs_in_and_the_role_decides_what_they_may_do(
    browser: object, flask_url: str, screenshots: Path
) -> None:
    browser.clear_cookies()  # type: ignore[attr-defined]
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{flask_url}/score")
    assert "/login?next=" in page.url  # signed out: every page leads to the sign-in form
    page.fill("#name", "viewer")
    page.fill("#password", "not-the-password")
    page.click("#sign-in-button")
    assert "Unknown user name or wrong password" in page.inner_text("#sign-in-error")
    page.fill("#name", "viewer")
    page.fill("#password", FLASK_PASSWORDS["viewer"])
    page.click("#sign-in-button")
    page.wait_for_selector("#score-button")
    assert page.url.endswith("/score")
    assert page.inner_text("#signed-in-as") == "viewer"
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#score-button")
    assert answer.value.status == 403
    assert "needs the analyst role" in page.inner_text("#error")
    _no_traceback(page)
    page.screenshot(path=str(screenshots / "flask_viewer_forbidden.png"), full_page=True)
    assert page.goto(f"{flask_url}/users").status == 403  # type: ignore[union-attr]

    _sign_in(page, flask_url, "admin")
    page.goto(f"{flask_url}/users")
    assert page.locator("#users tbody tr").count() == len(FLASK_PASSWORDS)
    page.click("#sign-out-button")
    page.wait_for_selector("#sign-in-form")
    page.goto(f"{flask_url}/model")
    assert "/login?next=" in page.url
    page.close()


def test_person_scores_one_customer_in_the_flask_form(
    browser: object, flask_url: str, screenshots: Path
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    _sign_in(page, flask_url, "analyst")
    page.goto(f"{flask_url}/score")
    page.fill("#customerID", "BROWSER-1")
    page.select_option("#Contract", "Month-to-month")
    page.select_option("#InternetService", "Fiber optic")
    page.fill("#tenure", "3")
    page.fill("#MonthlyCharges", "95.5")
    page.fill("#TotalCharges", "280")
    page.click("#score-button")
    page.wait_for_selector("#probability")
    probability = float(page.inner_text("#probability").rstrip("%"))
    assert 0 < probability < 100
    assert page.is_visible("#drivers-chart")
    _no_traceback(page)
    page.screenshot(path=str(screenshots / "flask_score_result.png"), full_page=True)

    page.goto(f"{flask_url}/score")
    page.fill("#tenure", "999")
    page.click("#score-button")
    error = page.wait_for_selector('.field-error[data-field="tenure"]')
    assert "between 0 and 120" in error.inner_text()
    page.screenshot(path=str(screenshots / "flask_score_invalid.png"), full_page=True)
    page.close()


def test_person_uploads_a_csv_and_downloads_the_scores(
    browser: object, flask_url: str, screenshots: Path, tmp_path: Path
) -> None:
    text = to_csv_text(generate(120, seed=21))
    lines = text.splitlines()
    lines[5] = lines[5].replace("Month-to-month", "Forever").replace("One year", "Forever")
    upload = tmp_path / "customers.csv"
    upload.write_text("\n".join(lines) + "\n")
    page = browser.new_page()  # type: ignore[attr-defined]
    _sign_in(page, flask_url, "analyst")
    page.goto(f"{flask_url}/batch")
    page.set_input_files("#file", str(upload))
    page.click("#upload-button")
    page.wait_for_selector("#results")
    summary = page.inner_text("#batch-summary")
    assert "customers scored" in summary
    assert page.locator("#problems tbody tr").count() >= 1
    _no_traceback(page)
    page.screenshot(path=str(screenshots / "flask_batch_result.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#download-link")
    saved = tmp_path / "scores.csv"
    info.value.save_as(str(saved))
    scored = saved.read_text().splitlines()
    assert scored[0].startswith("line,customerID,churn_probability,churn,risk_band")
    assert len(scored) - 1 == int(summary.split()[0])
    page.close()


def _sign_in_streamlit(page: object, role: str = "analyst", password: str | None = None) -> None:
    """The dashboard's own sign-in form (the Flask users), as a person fills it."""
    name = page.get_by_label("User name")  # type: ignore[attr-defined]
    name.wait_for(timeout=90_000)  # the first visit imports the page's modules
    name.fill(role)
    page.get_by_label("Password", exact=True).fill(password or FLASK_PASSWORDS[role])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["", *STREAMLIT_PAGES])
def test_signed_out_dashboard_pages_show_only_the_sign_in_form(
    browser: object, streamlit_url: str, screenshots: Path, path: str
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{streamlit_url}/{path}")
    page.get_by_label("User name").wait_for(timeout=90_000)
    page.wait_for_timeout(1000)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 0
    assert page.locator('[data-testid="stMetric"]').count() == 0
    # a name that is no account: five wrong passwords for "analyst" would lock it (#34) for the
    # tests that follow
    _sign_in_streamlit(page, "not-an-account", "wrong-password-123")
    page.get_by_text("Unknown user name or wrong password.").wait_for(timeout=30_000)
    assert page.get_by_label("User name").is_visible()
    _no_traceback(page)
    if not path:
        page.screenshot(path=str(screenshots / "streamlit_sign_in.png"), full_page=True)
    page.close()


def test_a_viewer_cannot_open_the_scoring_pages_of_the_dashboard(
    browser: object, streamlit_url: str
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{streamlit_url}/What_if")
    _sign_in_streamlit(page, "viewer")
    page.get_by_text("This page needs the analyst role").wait_for(timeout=90_000)
    assert page.locator('[data-testid="stMetric"]').count() == 0
    page.close()


@pytest.mark.parametrize("path", list(STREAMLIT_PAGES))
def test_person_opens_each_dashboard_page_and_sees_its_chart(
    browser: object, streamlit_url: str, screenshots: Path, path: str
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{streamlit_url}/{path}")
    _sign_in_streamlit(page)
    if path == "At_risk":
        draw = page.get_by_role("button", name="Draw and score")
        draw.wait_for(timeout=90_000)  # the first visit imports the page's modules
        rows = page.locator('[data-testid="stNumberInput"] input').first
        rows.fill("400")
        rows.press("Enter")
        page.wait_for_timeout(500)
        draw.click()
    page.get_by_text(STREAMLIT_PAGES[path]).first.wait_for(timeout=90_000)
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for(timeout=90_000)
    page.locator(
        '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
    ).first.wait_for(timeout=30_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)  # let vega finish drawing before the screenshot
    _no_traceback(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(screenshots / f"streamlit_{path.lower()}.png"), full_page=True)
    page.close()


def test_person_sees_a_clear_message_when_the_service_is_down(
    browser: object, dead_url: str, session_dir: Path, screenshots: Path
) -> None:
    """The scoring service is stopped: the page says so in words, with no traceback or 500."""
    with _flask_under_gunicorn(dead_url, session_dir) as url:
        page = browser.new_page()  # type: ignore[attr-defined]
        _sign_in(page, url, "analyst")
        home = page.goto(url)
        assert home is not None and home.status == 200
        assert page.inner_text("#service-status") == "not ready"
        page.goto(f"{url}/score")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("#score-button")
        assert answer.value.status == 503
        assert "scoring service is unavailable" in page.inner_text("body")
        assert not page.is_visible("#probability")
        _no_traceback(page)
        page.screenshot(path=str(screenshots / "flask_service_down.png"), full_page=True)
        page.close()
