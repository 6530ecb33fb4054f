"""The Flask app's configuration, from `churn.settings.Settings` (its `ui` section and the shared
fields); `overrides` (tests) win."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

import click

from churn.schema import MAX_BATCH_RECORDS
from churn.settings import Settings, SettingsError, load_settings

PRODUCTION = "production"


class ConfigError(RuntimeError):
    """The app refuses to start with this configuration."""


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flask config from the settings; `overrides` (tests) win. `ConfigError` on unsafe setups."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None
    ui = settings.ui
    overrides = dict(overrides or {})
    mode = str(overrides.pop("MODE", ui.env.strip())).lower()
    secret = overrides.pop("SECRET_KEY", None) or settings.flask_secret_key
    if not secret:
        if mode == PRODUCTION and not _maintenance_command():
            raise ConfigError(
                "FLASK_SECRET_KEY is not set: the UI refuses to start in production mode without "
                "a secret key (set it, or CHURN_UI_ENV=development for a throw-away key)"
            )
        secret = secrets.token_hex(32)
    config: dict[str, Any] = {
        "MODE": mode,
        "SECRET_KEY": secret,
        "SERVICE_URL": settings.service_url,
        "SERVICE_TOKEN": settings.api_token,
        "SERVICE_TIMEOUT_S": settings.request_timeout_s,
        "SERVICE_RETRIES": ui.service_retries,
        "MAX_BATCH_RECORDS": MAX_BATCH_RECORDS,
        "MAX_CONTENT_LENGTH": int(ui.max_upload_mb * 1024 * 1024),
        "MAX_UPLOAD_ROWS": ui.max_rows,
        "RATE_LIMIT": ui.rate_limit.strip(),
        "ROW_RATE_LIMIT": ui.row_rate_limit.strip(),
        "RATE_LIMIT_STORAGE": settings.rate_limit_storage.strip(),
        "PROXY_HOPS": settings.proxy_hops,
        "USERS_DB": settings.prediction_db,
        "BATCH_DIR": ui.batch_dir or Path(tempfile.gettempdir()) / "churn-ui",
        "BATCH_TTL_S": ui.batch_ttl_s,
        "RESULT_ROWS_SHOWN": 200,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": ui.secure_cookies,
        # behind TLS the `__Host-` prefix: Secure, Path=/, no Domain (no subdomain can set it)
        "SESSION_COOKIE_NAME": "__Host-churn_session" if ui.secure_cookies else "churn_session",
        "SESSION_COOKIE_PATH": "/",
        "PERMANENT_SESSION_LIFETIME": int(ui.session_max_s),
        "SESSION_REFRESH_EACH_REQUEST": False,
        "LOCAL_SIGN_IN": settings.local_on,
        "OIDC_ON": settings.oidc_on,
        "OIDC_ISSUER": settings.oidc_issuer,
        "OIDC_CLIENT_ID": settings.oidc_client_id,
        "OIDC_CLIENT_SECRET": _oidc_secret(settings) if settings.oidc_on else None,
        "OIDC_ROLES_CLAIM": settings.oidc_roles_claim,
        "OIDC_ROLE_MAP": dict(settings.oidc_role_map),
        "OIDC_SCOPES": settings.oidc_scopes,
        "PROPAGATE_EXCEPTIONS": False,
        "DEBUG": False,
    }
    config.update(overrides)
    return config


def _oidc_secret(settings: Settings) -> str | None:
    try:
        return settings.oidc_secret()
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None


def _maintenance_command() -> bool:
    """True under `flask ... users add` and the like: no session is ever signed, so a throw-away
    key is safe there (`flask run` still needs the real one)."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.info_name != "run"
