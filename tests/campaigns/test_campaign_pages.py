"""Where people look: the dashboard's Campaigns page in headless Chromium (Streamlit served for
real on loopback), and the ops UI's campaign list for admins (Flask test client)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import frontend_servers as servers
import pytest
from test_frontend_browser import (  # the frontends' browser fixture and sign-in, reused
    _no_traceback,
    _sign_in_streamlit,
    browser,
)
from test_frontend_flask import PASSWORDS, _app, _sign_in, _text

from churn.settings import Settings
from frontends.flask_app.auth import UserStore
from tests.campaigns.stored import stored_campaign
from tests.fixtures.http import wait_for_http

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]
__all__ = ["browser"]


@pytest.fixture(scope="module")
def project_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A project database with the UI's users and two campaigns with outcomes."""
    url = f"sqlite:///{tmp_path_factory.mktemp('campaign-pages') / 'project.db'}"
    users = UserStore(url)
    for role, password in PASSWORDS.items():
        users.add(role, password, role)
    stored_campaign(url, "spring", churned_treated=20, churned_control=40)
    stored_campaign(url, "summer", churned_treated=30, churned_control=30)
    return url


@pytest.fixture(scope="module")
def streamlit_url(project_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = servers.free_port()
    log = tmp_path_factory.mktemp("streamlit-log") / "streamlit.log"
    app = servers.REPO_ROOT / "frontends" / "streamlit_app" / "Home.py"
    cmd = [
        str(Path(sys.executable).with_name("streamlit")), "run", str(app),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    env = {
        "CHURN_PREDICTION_DB": project_db,
        "CHURN_SERVICE_URL": f"http://127.0.0.1:{servers.free_port()}",  # not needed here
    }
    proc = servers.start(cmd, cwd=servers.REPO_ROOT, log=log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/_stcore/health", 90, process=proc, log=log)
        yield url
    finally:
        servers.stop(proc)


def test_analyst_reads_a_campaign_report_and_downloads_its_contacts(
    browser: object, streamlit_url: str, tmp_path: Path
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{streamlit_url}/Campaigns")
    _sign_in_streamlit(page, "analyst", PASSWORDS["analyst"])
    page.get_by_text("Campaign summer").wait_for(timeout=90_000)  # the newest first
    page.locator('[data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="spring").click()
    page.get_by_text("Campaign spring").wait_for(timeout=30_000)
    # the rerun after the selection redraws from the top: the subheader can be new while the
    # figures below it are still the previous campaign's, so wait for spring's own figure
    page.get_by_text("+20.0%").first.wait_for(timeout=30_000)
    page.get_by_text("Effects by segment").wait_for(timeout=30_000)
    text = page.inner_text("body")
    assert "+20.0%" in text  # uplift: control 40% minus treated 20%
    assert re.search(r"95% interval \+\d+\.\d% to \+\d+\.\d%", text)
    assert "-2,000" in text  # net value: 20 saved x 150 - 100 x 50
    assert "interim: 33% of the window has passed" in text  # 10 days into 30: not final
    assert "Effects by segment" in text and "Bonferroni" in text
    assert "designed to detect an uplift of 19.0%" in text  # (tables draw on a canvas)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30_000)
    _no_traceback(page)
    screenshots = Settings().reports_dir / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / "streamlit_campaigns.png"), full_page=True)
    saved = tmp_path / "contacts.csv"
    for _ in range(5):  # a click while the rerun after the selection still draws gets its old file
        with page.expect_download() as info:
            page.get_by_role("button", name="Download the contact list (CSV)").click()
        info.value.save_as(str(saved))
        lines = saved.read_text().splitlines()
        if len(lines) > 1 and lines[1].startswith("spring-"):
            break
        page.wait_for_timeout(1000)
    assert lines[0] == (
        "customerID,arm,rank,churn_probability,expected_value,risk_decile,contract,tenure_band"
    )
    assert len(lines) == 201 and lines[1].startswith("spring-0,treated,1,")
    page.close()


def test_a_viewer_sees_the_reports_but_not_the_contact_list(
    browser: object, streamlit_url: str
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{streamlit_url}/Campaigns")
    _sign_in_streamlit(page, "viewer", PASSWORDS["viewer"])
    page.get_by_text("The contact list is for analysts.").wait_for(timeout=90_000)
    assert page.get_by_role("button", name="Download the contact list (CSV)").count() == 0
    page.close()


def test_admins_see_the_campaigns_in_the_ops_ui(project_db: str, tmp_path: Path) -> None:
    app = _app("http://127.0.0.1:9", tmp_path, USERS_DB=project_db)
    html = _text(_sign_in(app, "admin").get("/campaigns"))
    rows = re.findall(r"<tr><td>([^<]+)</td><td>[^<]+</td><td>(\w+)</td><td>(\w+)</td>", html)
    assert rows == [("summer", "open", "ana"), ("spring", "open", "ana")]
    assert "<td>30</td><td>0.190</td>" in html  # the horizon and the design's power figure
    assert 'href="/campaigns"' in html
    assert _sign_in(app, "analyst").get("/campaigns").status_code == 403
