"""Streamlit's `[auth]` section (for `st.login`) from `churn.settings`, so the dashboard is set by
the same `CHURN_OIDC_*` variables as the Flask UI: `python -m frontends.streamlit_app.auth_secrets
FILE` writes FILE (mode 600) and the dashboard starts with `--secrets.files FILE`
(`make dashboard`). Without a provider (`CHURN_SIGN_IN=local`) it writes an empty file.

Streamlit's own redirect URI is fixed by its configuration, so behind the TLS edge
`CHURN_DASHBOARD_URL` names the dashboard's public address (`https://churn.example/dashboard`).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from churn.settings import Settings, SettingsError, load_settings


def auth_section(settings: Settings) -> str:
    """The TOML text (JSON strings are valid TOML basic strings)."""
    if not settings.oidc_on:
        return ""
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise SettingsError(
            "CHURN_SIGN_IN=oidc or both needs CHURN_OIDC_ISSUER and CHURN_OIDC_CLIENT_ID"
        )
    cookie = settings.dashboard_cookie_secret
    values = {
        "redirect_uri": settings.dashboard_url.rstrip("/") + "/oauth2callback",
        "cookie_secret": cookie.get_secret_value() if cookie else secrets.token_hex(32),
        "client_id": settings.oidc_client_id,
        "client_secret": settings.oidc_secret() or "",
        "server_metadata_url": settings.oidc_issuer.rstrip("/")
        + "/.well-known/openid-configuration",
    }
    lines = ["[auth]", *(f"{k} = {json.dumps(v)}" for k, v in values.items())]
    lines += [
        "[auth.client_kwargs]",
        f"scope = {json.dumps(settings.oidc_scopes)}",
        f"prompt = {json.dumps(settings.dashboard_oidc_prompt)}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m frontends.streamlit_app.auth_secrets FILE", file=sys.stderr)
        return 2
    try:
        text = auth_section(load_settings())
    except SettingsError as exc:
        print(f"auth_secrets: {exc}", file=sys.stderr)
        return 1
    path = Path(argv[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
