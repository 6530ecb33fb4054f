"""The Flask ops UI: score one customer, score a CSV, see the model and the service's health.

`create_app()` is the factory; gunicorn serves `frontends.flask_app.wsgi:app` (`make flask`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from werkzeug.middleware.proxy_fix import ProxyFix

from frontends.common.client import ChurnClient
from frontends.flask_app import accounts, auth, oidc
from frontends.flask_app.batch_store import BatchStore
from frontends.flask_app.config import ConfigError, load_config
from frontends.flask_app.errors import register_error_handlers
from frontends.flask_app.metrics import AppMetrics
from frontends.flask_app.views import bp

__all__ = ["ConfigError", "create_app"]

RATE_LIMITED = ("ui.score", "ui.batch")
ROW_LIMITED = ("ui.batch",)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment; `overrides` replace config keys (tests)."""
    app = Flask(__name__)
    app.config.update(load_config(overrides))

    metrics = AppMetrics()
    app.extensions["churn_metrics"] = metrics
    app.extensions["churn_client"] = ChurnClient(
        app.config["SERVICE_URL"],
        timeout_s=app.config["SERVICE_TIMEOUT_S"],
        retries=app.config["SERVICE_RETRIES"],
        observer=metrics.observe_service_call,
        token=app.config["SERVICE_TOKEN"],
    )
    app.extensions["churn_batch_store"] = BatchStore(
        app.config["BATCH_DIR"], app.config["BATCH_TTL_S"]
    )

    hops = int(app.config["PROXY_HOPS"])
    if hops:
        # Behind `hops` trusted proxies: the client address is the one they saw, not theirs, and
        # the host and scheme the browser used build the OpenID redirect URI.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    CSRFProtect(app)
    auth.init_app(app)
    accounts.init_app(app)
    oidc.init_app(app)
    app.register_blueprint(bp)
    _init_rate_limits(app)
    metrics.init_app(app)
    app.extensions["churn_limiter"].exempt(app.view_functions["metrics"])
    register_error_handlers(app)
    app.after_request(_security_headers)
    return app


def _init_rate_limits(app: Flask) -> None:
    """Requests per client address on the scoring routes, rows on uploads. (Sign-in tries are
    counted in the project database, across workers and both UIs: churn/db/sign_in_guard.py.)

    The counters live in `RATE_LIMIT_STORAGE` (memory:// is per process; use Redis with several
    workers or pods so they share one count). The sliding-window counter refuses a hit that would
    go over without counting it, so a refused upload does not use up the rows it did not score.
    """
    uri = str(app.config["RATE_LIMIT_STORAGE"])
    try:
        storage_from_string(uri)
    except ConfigurationError as exc:
        raise ConfigError(f"CHURN_RATE_LIMIT_STORAGE={uri!r} is not usable: {exc}") from exc
    limiter = Limiter(
        get_remote_address, app=app, storage_uri=uri, strategy="sliding-window-counter"
    )
    app.extensions["churn_limiter"] = limiter
    views = app.view_functions
    for endpoint in RATE_LIMITED:
        limited = limiter.limit(lambda: str(app.config["RATE_LIMIT"]), methods=["POST"])
        views[endpoint] = limited(views[endpoint])  # type: ignore[assignment]
    for endpoint in ROW_LIMITED:
        rows = limiter.limit(
            lambda: str(app.config["ROW_RATE_LIMIT"]), methods=["POST"], cost=upload_rows
        )
        views[endpoint] = rows(views[endpoint])  # type: ignore[assignment]


def upload_rows() -> int:
    """The rate-limit cost of an upload: its data rows (lines after the header), at least 1."""
    upload = request.files.get("file")
    if upload is None:
        return 1
    data = upload.stream.read()
    upload.stream.seek(0)
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return max(1, lines - 1)


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
