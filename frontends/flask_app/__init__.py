"""The Flask ops UI: score one customer, score a CSV, see the model and the service's health.

`create_app()` is the factory; gunicorn serves `frontends.flask_app.wsgi:app` (`make flask`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from frontends.common.client import ChurnClient
from frontends.flask_app.batch_store import BatchStore
from frontends.flask_app.config import ConfigError, load_config
from frontends.flask_app.errors import register_error_handlers
from frontends.flask_app.metrics import AppMetrics
from frontends.flask_app.views import bp

__all__ = ["ConfigError", "create_app"]

RATE_LIMITED = ("ui.score", "ui.batch")
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
    )
    app.extensions["churn_batch_store"] = BatchStore(
        app.config["BATCH_DIR"], app.config["BATCH_TTL_S"]
    )

    CSRFProtect(app)
    app.register_blueprint(bp)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")
    for endpoint in RATE_LIMITED:
        limited = limiter.limit(lambda: str(app.config["RATE_LIMIT"]), methods=["POST"])
        app.view_functions[endpoint] = limited(app.view_functions[endpoint])  # type: ignore[assignment]
    metrics.init_app(app)
    limiter.exempt(app.view_functions["metrics"])
    register_error_handlers(app)
    app.after_request(_security_headers)
    return app


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
