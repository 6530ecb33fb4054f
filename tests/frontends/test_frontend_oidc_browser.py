"""Company sign-in through a real, certified OpenID provider (panva's oidc-provider, on loopback):
headless Chromium follows the whole redirect flow (authorization code + PKCE) into the Flask UI
under gunicorn and the Streamlit dashboard; roles come from the `groups` claim; a person with no
mapped group is refused with the reason; sign-out and an admin's revoke end the session, even for
a copied cookie; a machine's client-credentials token is checked by churn/oidc_tokens.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import frontend_servers as servers
import pytest

from churn.db.audit import recent
from churn.oidc_tokens import AccessTokenVerifier, TokenRejected
from tests.fixtures.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.http import wait_for_http
from tests.fixtures.oidc import (
    Provider,
    machine_client,
    oidc_provider,
    sign_in_at_provider,
    sign_out_at_provider,
    web_client,
)

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(600)]

ROLE_MAP = {"churn-admins": "admin", "churn-analysts": "analyst"}
ACCOUNTS = {
    "ana": {"preferred_username": "ana", "email": "ana@example.com", "groups": ["churn-analysts"]},
    "adm": {"preferred_username": "adm", "email": "adm@example.com", "groups": ["churn-admins"]},
    "sam": {"preferred_username": "sam", "email": "sam@example.com", "groups": ["sales"]},
}
SCOPE_MAP = {"churn.predict": "predict", "churn.admin": "admin"}


class Site:
    def __init__(self, provider: Provider, flask: str, dashboard: str, db: str) -> None:
        self.provider, self.flask, self.dashboard, self.db = provider, flask, dashboard, db


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, dead_url: str) -> Iterator[Site]:
    """One provider, the Flask UI and the dashboard, all on loopback, one project database."""
    work = tmp_path_factory.mktemp("oidc")
    flask_port, dash_port = servers.free_port(), servers.free_port()
    flask, dashboard = f"http://127.0.0.1:{flask_port}", f"http://127.0.0.1:{dash_port}"
    clients = [
        web_client("churn-flask", [f"{flask}/oidc/callback"], "flask-client-secret"),
        web_client("churn-dashboard", [f"{dashboard}/oauth2callback"], "dash-client-secret"),
        machine_client("churn-batch", "batch-client-secret"),
    ]
    db = f"sqlite:///{work / 'project.db'}"
    with oidc_provider(work, clients, ACCOUNTS) as provider:
        common = {
            "CHURN_SIGN_IN": "both",
            "CHURN_OIDC_ISSUER": provider.issuer,
            "CHURN_OIDC_ROLES_CLAIM": "groups",
            "CHURN_OIDC_ROLE_MAP": json.dumps(ROLE_MAP),
            "CHURN_OIDC_SCOPES": "openid profile email groups",
            "CHURN_PREDICTION_DB": db,
            "CHURN_SERVICE_URL": dead_url,
        }
        secret_file = work / "flask-client-secret"
        secret_file.write_text("flask-client-secret\n")  # the secret from a mounted file
        flask_env = {
            **common,
            "CHURN_OIDC_CLIENT_ID": "churn-flask",
            "CHURN_OIDC_CLIENT_SECRET_FILE": str(secret_file),
            "FLASK_PORT": str(flask_port),
            "FLASK_SECRET_KEY": "oidc-test-secret",
            "CHURN_UI_WORKERS": "2",  # a session must hold in every worker
            "CHURN_UI_BATCH_DIR": str(work / "batches"),
        }
        dash_env = {
            **common,
            "CHURN_OIDC_CLIENT_ID": "churn-dashboard",
            "CHURN_OIDC_CLIENT_SECRET": "dash-client-secret",
            "CHURN_DASHBOARD_URL": dashboard,
        }
        secrets_toml = work / "streamlit-secrets.toml"
        subprocess.run(
            [sys.executable, "-m", "frontends.streamlit_app.auth_secrets", str(secrets_toml)],
            cwd=servers.REPO_ROOT, env={**os.environ, **dash_env}, check=True, timeout=60,
        )  # fmt: skip
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        streamlit = str(Path(sys.executable).with_name("streamlit"))
        conf = servers.REPO_ROOT / "frontends" / "flask_app" / "gunicorn.conf.py"
        flask_proc = servers.start(
            [gunicorn, "-c", str(conf), "frontends.flask_app.wsgi:app"],
            cwd=servers.REPO_ROOT, log=work / "gunicorn.log", env=flask_env,
        )  # fmt: skip
        home = servers.REPO_ROOT / "frontends" / "streamlit_app" / "Home.py"
        dash_proc = servers.start(
            [streamlit, "run", str(home), "--server.port", str(dash_port), "--server.address",
             "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--secrets.files", str(secrets_toml)],
            cwd=servers.REPO_ROOT, log=work / "streamlit.log", env=dash_env,
        )  # fmt: skip
        try:
            wait_for_http(f"{flask}/healthz", 90, process=flask_proc, log=work / "gunicorn.log")
            wait_for_http(
                f"{dashboard}/_stcore/health", 90, process=dash_proc, log=work / "streamlit.log"
            )
            yield Site(provider, flask, dashboard, db)
        finally:
            servers.stop(flask_proc)
            servers.stop(dash_proc)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _flask_sign_in(chromium: Any, site: Site, account: str) -> Any:
    """A fresh browser (no provider session) signed in to the Flask UI as `account`."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site.flask}/login")
    page.click("#oidc-sign-in")
    sign_in_at_provider(page, account)
    page.wait_for_url(f"{site.flask}/")
    return page


def _signed_out(context: Any, site: Site) -> bool:
    page = context.new_page()
    page.goto(f"{site.flask}/model")
    return "/login" in page.url


def test_flask_sign_in_maps_the_role_and_sign_out_ends_a_copied_cookie(
    chromium: Any, site: Site
) -> None:
    page = _flask_sign_in(chromium, site, "ana")
    assert page.inner_text("#signed-in-as") == "ana"
    assert "(analyst)" in page.inner_text("header")
    assert page.locator("#password-link").count() == 0  # the provider keeps the password
    copied = page.context.cookies()
    page.click("#sign-out-button")
    page.wait_for_url(f"{site.flask}/login")
    thief = chromium.new_context()
    thief.add_cookies(copied)
    assert _signed_out(thief, site)
    events = recent(20, url=site.db, actions=["sign_in", "sign_out"])
    mine = [(e.action, e.actor) for e in events if e.actor == "oidc:ana"]
    assert mine[:2] == [("sign_out", "oidc:ana"), ("sign_in", "oidc:ana")]
    assert "signed in as analyst (oidc)" in [e.reason.split(" from ")[0] for e in events]


def test_a_person_without_a_mapped_group_is_refused_with_the_reason(
    chromium: Any, site: Site
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site.flask}/login")
    page.click("#oidc-sign-in")
    sign_in_at_provider(page, "sam")
    reason = page.inner_text("#refused-reason")
    assert "none of your 'groups' values" in reason and "churn-admins" in reason
    assert _signed_out(context, site)
    failed = recent(20, url=site.db, actions=["sign_in_failed"])
    assert [e.reason.split(" from ")[0] for e in failed if e.actor == "oidc:sam"] == [
        "no mapped role"
    ]


def test_an_admins_revoke_ends_the_persons_sessions_in_every_worker(
    chromium: Any, site: Site
) -> None:
    ana = _flask_sign_in(chromium, site, "ana")
    admin = _flask_sign_in(chromium, site, "adm")
    assert "(admin)" in admin.inner_text("header")
    admin.goto(f"{site.flask}/users")
    admin.locator("#sessions tr", has_text="oidc:ana").locator("button.revoke").click()
    assert "Ended 1 session(s) of oidc:ana" in admin.inner_text("main")
    assert _signed_out(ana.context, site)
    assert not _signed_out(admin.context, site)
    revoked = recent(20, url=site.db, actions=["session_revoke"])
    assert [(e.actor, e.reason.split(" from ")[0]) for e in revoked] == [
        ("adm", "ended 1 session(s) of oidc:ana")
    ]


def _dashboard_sign_in(chromium: Any, site: Site, account: str) -> Any:
    page = chromium.new_context().new_page()
    page.goto(site.dashboard)
    page.get_by_role("button", name="Sign in with your company account").click()
    sign_in_at_provider(page, account)
    return page


def test_dashboard_signs_in_with_st_login_and_sign_out_ends_a_copied_cookie(
    chromium: Any, site: Site
) -> None:
    page = _dashboard_sign_in(chromium, site, "adm")
    page.get_by_text("Signed in as adm (admin)").wait_for(timeout=60_000)
    copied = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    sign_in_button = page.get_by_role("button", name="Sign in with your company account")
    sign_out_at_provider(page, then=sign_in_button)  # st.logout may end the provider's too
    sign_in_button.wait_for(timeout=60_000)
    thief = chromium.new_context()
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(site.dashboard)
    again = stolen.get_by_role("button", name="Sign in with your company account")
    sign_out_at_provider(stolen, then=again)  # the dashboard clears the dead cookie
    again.wait_for(timeout=60_000)
    assert stolen.get_by_text("Signed in as adm").count() == 0
    events = recent(50, url=site.db, actions=["sign_in", "sign_out"])
    dash = [(e.action, e.actor) for e in events if e.model_name == "streamlit_dashboard"]
    assert ("sign_in", "oidc:adm") in dash and ("sign_out", "oidc:adm") in dash


def test_dashboard_refuses_a_person_without_a_mapped_group(chromium: Any, site: Site) -> None:
    page = _dashboard_sign_in(chromium, site, "sam")
    refusal = page.get_by_text("Sign-in refused")
    refusal.wait_for(timeout=60_000)
    assert "churn-analysts" in refusal.inner_text()


def test_a_machines_client_credentials_token_is_verified(site: Site) -> None:
    verifier = AccessTokenVerifier(site.provider.issuer, site.provider.audience, SCOPE_MAP)
    token = site.provider.client_credentials_token("churn-batch", "churn.predict")
    grant = verifier.verify(token)
    assert (grant.scope, grant.subject) == ("predict", "oidc:churn-batch")
    admin = site.provider.client_credentials_token("churn-batch", "churn.predict churn.admin")
    assert verifier.verify(admin).scope == "admin"
    other = AccessTokenVerifier(site.provider.issuer, "https://another.example", SCOPE_MAP)
    with pytest.raises(TokenRejected, match="wrong audience"):
        other.verify(token)
