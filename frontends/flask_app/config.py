"""The Flask app's configuration, from the environment (and `churn.settings` for shared names)."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import click

from churn.schema import MAX_BATCH_RECORDS
from churn.settings import Settings

PRODUCTION = "production"


class ConfigError(RuntimeError):
    """The app refuses to start with this configuration."""


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default).strip()


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flask config from env vars; `overrides` (tests) win. `ConfigError` on unsafe setups."""
    settings = Settings()
    overrides = dict(overrides or {})
    mode = str(overrides.pop("MODE", _env("CHURN_UI_ENV", PRODUCTION))).lower()
    secret = overrides.pop("SECRET_KEY", None) or os.environ.get("FLASK_SECRET_KEY", "")
    if not secret:
        if mode == PRODUCTION and not _maintenance_command():
            raise ConfigError(
                "FLASK_SECRET_KEY is not set: the UI refuses to start in production mode without "
                "a secret key (set it, or CHURN_UI_ENV=development for a throw-away key)"
            )
        secret = secrets.token_hex(32)
    max_upload_mb = float(_env("CHURN_UI_MAX_UPLOAD_MB", "5"))
    config: dict[str, Any] = {
        "MODE": mode,
        "SECRET_KEY": secret,
        "SERVICE_URL": settings.service_url,
        "SERVICE_TOKEN": settings.api_token,
        "SERVICE_TIMEOUT_S": settings.request_timeout_s,
        "SERVICE_RETRIES": int(_env("CHURN_UI_SERVICE_RETRIES", "2")),
        "MAX_BATCH_RECORDS": MAX_BATCH_RECORDS,
        "MAX_CONTENT_LENGTH": int(max_upload_mb * 1024 * 1024),
        "MAX_UPLOAD_ROWS": int(_env("CHURN_UI_MAX_ROWS", "20000")),
        "RATE_LIMIT": _env("CHURN_UI_RATE_LIMIT", "60 per minute"),
        "ROW_RATE_LIMIT": _env("CHURN_UI_ROW_RATE_LIMIT", "100000 per hour"),
        "LOGIN_RATE_LIMIT": _env("CHURN_UI_LOGIN_RATE_LIMIT", "10 per minute"),
        "RATE_LIMIT_STORAGE": _env("CHURN_RATE_LIMIT_STORAGE", "memory://"),
        "PROXY_HOPS": _non_negative_int("CHURN_PROXY_HOPS", "0"),
        "USERS_DB": settings.prediction_db,
        "BATCH_DIR": Path(
            _env("CHURN_UI_BATCH_DIR", str(Path(tempfile.gettempdir()) / "churn-ui"))
        ),
        "BATCH_TTL_S": int(_env("CHURN_UI_BATCH_TTL_S", "3600")),
        "RESULT_ROWS_SHOWN": 200,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env("CHURN_UI_SECURE_COOKIES", "false").lower() == "true",
        "PROPAGATE_EXCEPTIONS": False,
        "DEBUG": False,
    }
    config.update(overrides)
    return config


def _non_negative_int(name: str, default: str) -> int:
    raw = _env(name, default)
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number >= 0 (got {raw!r:.40})")
    return int(raw)


def _maintenance_command() -> bool:
    """True under `flask ... users add` and the like: no session is ever signed, so a throw-away
    key is safe there (`flask run` still needs the real one)."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.info_name != "run"
