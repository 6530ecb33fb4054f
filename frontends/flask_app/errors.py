"""Friendly error pages: the user never sees a stack trace, whatever fails."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from frontends.common.client import ServiceRejected, ServiceUnavailable
from frontends.flask_app.auth import RoleRequired, wants_json

log = logging.getLogger(__name__)

RETRY_AFTER_S = 10

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed for your role", "Your role does not allow this action."),
    404: ("Not found", "There is no such page (or the download has expired)."),
    405: ("Not allowed", "That page does not accept this kind of request."),
    413: ("File too large", "The upload is larger than the limit; split the file and retry."),
    429: ("Too many requests", "You are scoring too fast; wait a minute and try again."),
    500: ("Something went wrong", "The page failed; the error has been logged."),
}


def _page(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template("error.html", title=title, message=message, status=status), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceUnavailable)
    def service_unavailable(exc: ServiceUnavailable) -> tuple[str, int, dict[str, str]]:
        log.warning("churn service unavailable: %s", exc.message)
        body, status = _page(
            "The scoring service is unavailable",
            f"{exc.message}. The rest of this site still works; please retry in a moment.",
            503,
        )
        return body, status, {"Retry-After": str(RETRY_AFTER_S)}

    @app.errorhandler(ServiceRejected)
    def service_rejected(exc: ServiceRejected) -> tuple[str, int]:
        details = "; ".join(str(d) for d in exc.detail)
        return _page("The service rejected the input", f"{exc.message} {details}".strip(), 400)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return _page(
            "Form expired", "The form is missing its security token or it expired; reload it.", 400
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Any, int]:
        status = exc.code or 500
        title, message = MESSAGES.get(status, (exc.name, "The request failed."))
        if isinstance(exc, RoleRequired):
            message = str(exc.description)  # names the role needed and the user's own
        if wants_json():
            return jsonify(error=title, detail=message, status=status), status
        return _page(title, message, status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        log.exception("unhandled error in the UI")
        return _page(*MESSAGES[500], 500)
