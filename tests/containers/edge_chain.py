"""The compose chain through its TLS edge (part of tests/containers/compose_chain.py).

Once the stack is healthy: the service, Flask and the dashboard answer through nginx over HTTPS with
a certificate of `make certs`' local CA, plain HTTP redirects, and the first admin `make compose-up`
created (deploy/compose_first_admin.sh) signs in in headless Chromium through the proxy, changes
the generated password (whose file on the host Flask then deletes), scores a customer and signs
out.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from tests.fixtures.chromium import CHROMIUM, CHROMIUM_ARGS


def check_edge(chain: Any, out: Any, chain_dir: Path, logs: Path) -> None:
    import requests

    ca = str(chain.certs / "ca.crt")
    base = chain.edge_url()
    ready = requests.get(f"{base}/api/readyz", verify=ca, timeout=10)
    out.check(
        "the service answers through the TLS edge (/api/readyz, the local CA's certificate, HSTS)",
        ready.status_code == 200
        and ready.headers.get("Strict-Transport-Security", "").startswith("max-age="),
        f"HTTP {ready.status_code}",
    )
    plain = requests.get(
        f"http://127.0.0.1:{chain.ports['http']}/score",
        headers={"Host": "attacker.example"},
        allow_redirects=False,
        timeout=10,
    )
    out.check(
        "plain HTTP only redirects, to HTTPS on the configured name",
        plain.status_code == 308 and plain.headers.get("Location") == f"{base}/score",
        f"HTTP {plain.status_code} -> {plain.headers.get('Location')}",
    )
    health = requests.get(f"{base}/dashboard/_stcore/health", verify=ca, timeout=10)
    out.check(
        "the dashboard answers under /dashboard/ through the edge",
        health.status_code == 200 and health.text.strip() == "ok",
        f"HTTP {health.status_code}",
    )
    secret: Path = chain.first_admin_file  # compose-up made it (deploy/compose_first_admin.sh)
    name, password = secret.read_text().split()
    mode = stat.S_IMODE(secret.stat().st_mode)
    out.check(
        "the first admin's name and password are in a mode-600 file", mode == 0o600, oct(mode)
    )
    browser_session(chain, out, name, password, logs)
    out.check(
        "the first admin's password file on the host is gone once the password is changed",
        not secret.exists(),
        str(secret),
    )


def browser_session(chain: Any, out: Any, name: str, password: str, logs: Path) -> None:
    """Sign in, score one customer, sign out: a person in Chromium, through the proxy only."""
    from playwright.sync_api import sync_playwright

    base = chain.edge_url()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        # requests checked the chain of trust above; Chromium has no option for a CA file
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        try:
            page.goto(f"http://localhost:{chain.ports['http']}/score")
            out.check(
                "the browser lands on the HTTPS sign-in form",
                page.url.startswith(f"{base}/login"),
                page.url,
            )
            page.fill("#name", name)
            page.fill("#password", password)
            page.click("#sign-in-button")
            # the first admin's generated password must be changed first (#34)
            page.wait_for_selector("#password-form")
            page.fill("#current", password)
            page.fill("#new", password + "-changed")
            page.fill("#again", password + "-changed")
            page.click("#password-button")
            page.goto(f"{base}/score")
            page.wait_for_selector("#score-button")
            out.check(
                "the first admin signs in through the TLS proxy",
                page.inner_text("#signed-in-as") == name,
                page.url,
            )
            cookies = [c for c in context.cookies() if c["name"] == "__Host-churn_session"]
            out.check(
                "the session cookie is Secure and HttpOnly",
                bool(cookies) and all(c["secure"] and c["httpOnly"] for c in cookies),
                str([(c["name"], c["secure"], c["httpOnly"]) for c in cookies]),
            )
            page.fill("#customerID", "EDGE-1")
            page.select_option("#Contract", "Month-to-month")
            page.fill("#tenure", "3")
            page.fill("#MonthlyCharges", "95.5")
            page.fill("#TotalCharges", "280")
            page.click("#score-button")
            page.wait_for_selector("#probability")
            probability = float(page.inner_text("#probability").rstrip("%"))
            out.check(
                "the admin scores a customer in the browser",
                0 < probability < 100,
                f"{probability}%",
            )
            page.click("#sign-out-button")
            page.wait_for_selector("#sign-in-form")
            page.goto(f"{base}/score")
            out.check(
                "signed out: the scoring page leads back to the sign-in form",
                "/login?next=" in page.url,
                page.url,
            )
        except Exception:
            page.screenshot(path=str(logs / "edge-browser.png"), full_page=True)
            raise
        finally:
            context.close()
            browser.close()
