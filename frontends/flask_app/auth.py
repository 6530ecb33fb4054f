"""Sign-in for the Flask UI: users with roles in the project database, server-side sessions.

Roles are ordered viewer < analyst < admin: viewers look, analysts score and upload, admins also
manage users. Every page needs a signed-in user (except `PUBLIC_ENDPOINTS`), and the views check the
role on the server with `requires(role)`, whatever the template shows.

The password check, its lockout and audit are the shared `UserStore.sign_in` (churn/db/users.py);
Flask-Login's cookie holds only a random session id whose row (churn/db/sessions.py) decides, at
every request, whether the session still lives: sign-out, an admin's revoke, 8 h and 30 min idle
end it in every worker. Accounts, the password change and the users CLI: accounts.py; OpenID
Connect: oidc.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import Forbidden
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from churn.db.users import (  # the store is shared with Streamlit; re-exported here
    MAX_NAME_LENGTH,
    ROLES,
    User,
    UserError,
    UserStore,
    check_role,
)

__all__ = ["ROLES", "SIGN_IN_FAILED", "User", "UserError", "UserStore", "requires"]

log = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = frozenset(
    {"auth.login", "ui.healthz", "metrics", "static", "oidc.start", "oidc.callback"}
)
SIGN_IN_FAILED = "Unknown user name or wrong password."
LOCKED = "Too many sign-in tries: try again in {s} seconds."
BUSY = "The sign-in is busy: try again in a few seconds."
PASSWORD_CHANGE_ENDPOINTS = frozenset({"accounts.password", "auth.logout", "static", "ui.healthz"})

F = TypeVar("F", bound=Callable[..., Any])


class RoleRequired(Forbidden):
    """403: signed in, but the role is too low for this action."""


def user_store() -> UserStore:
    store: UserStore = current_app.extensions["churn_users"]
    return store


def requires(role: str) -> Callable[[F], F]:
    """Let the view run only for a signed-in user with at least `role` (403 otherwise)."""
    check_role(role)

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not cast(User, current_user).can(role):
                user = cast(User, current_user)
                raise RoleRequired(
                    description=f"This needs the {role} role; you are signed in as "
                    f"{user.name} ({user.role})."
                )
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


class SignInForm(FlaskForm):
    name = StringField("User name", validators=[InputRequired(), Length(max=MAX_NAME_LENGTH)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])


bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//'): no open redirect."""
    if not target:
        return url_for("ui.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui.home")
    if "\\" in target or any(c.isspace() or not c.isprintable() for c in target):
        return url_for("ui.home")  # browsers drop tabs and newlines: "/\t/evil" becomes "//evil"
    return target


AUDIT_SUBJECT = "flask_ui"
"""The audit rows' `model_name` for sign-ins: the door they came through."""


def client_address() -> str:
    """The client address after `CHURN_PROXY_HOPS` trusted proxies (werkzeug's ProxyFix)."""
    return request.remote_addr or ""


def start_session(user: User) -> None:
    """Flask's side of a sign-in: a fresh cookie (no session fixation) holding the new id."""
    session.clear()
    session.permanent = True  # the cookie's own lifetime: PERMANENT_SESSION_LIFETIME (8 h)
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = SignInForm()
    next_url = request.args.get("next")
    oidc = current_app.config.get("OIDC_ON", False)
    local = current_app.config.get("LOCAL_SIGN_IN", True)
    page = {"form": form, "next_url": next_url, "oidc": oidc, "local": local}
    if request.method == "POST" and local:
        if not form.validate_on_submit():
            return render_template("login.html", **page), 400
        address = client_address()
        name, password = form.name.data or "", form.password.data or ""
        result = user_store().sign_in(AUDIT_SUBJECT, name, password, address)
        if result.outcome in ("locked", "busy"):
            log.warning("sign-in refused (%s) from %s", result.outcome, address)
            message = LOCKED.format(s=result.retry_after_s) if result.outcome == "locked" else BUSY
            form.form_errors.append(message)
            status = 429 if result.outcome == "locked" else 503
            headers = {"Retry-After": str(result.retry_after_s)}
            return render_template("login.html", **page), status, headers
        if result.user is None:
            log.warning("failed sign-in from %s", address)  # never the typed name
            form.form_errors.append(SIGN_IN_FAILED)
            return render_template("login.html", **page), 401
        user = result.user
        start_session(user)
        log.info("signed in: %s (%s) from %s", user.name, user.role, address)
        if user.must_change_password:
            flash("Choose a new password before you go on.")
            return redirect(url_for("accounts.password"))
        return redirect(_safe_next(next_url))
    return render_template("login.html", **page)


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        user = cast(User, current_user)
        user_store().sign_out(AUDIT_SUBJECT, user.session, client_address())
        log.info("signed out: %s", user.name)
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.get("/users")
@requires("admin")
def users() -> str:
    store = user_store()
    return render_template(
        "users.html", users=store.list(), sessions=store.sessions.live_subjects()
    )


AUDIT_PAGE_ROWS = 200


@bp.get("/audit")
@requires("admin")
def audit() -> str:
    """The audit trail of the project database (`churn audit`): promotions, rollbacks,
    experiments, model switches and token changes, newest first, with who did each."""
    from churn.db.audit import recent

    events = recent(AUDIT_PAGE_ROWS, url=current_app.config["USERS_DB"])
    return render_template("audit.html", events=events, limit=AUDIT_PAGE_ROWS)


@bp.get("/campaigns")
@requires("admin")
def campaigns() -> str:
    """The retention campaigns of the project database (`churn campaign list`), newest first;
    reports live on the dashboard's Campaigns page and in `churn campaign report`."""
    from churn.db.campaigns import list_all
    from churn.db.engine import make_engine

    engine = make_engine(current_app.config["USERS_DB"])
    try:
        rows = list_all(engine)
    finally:
        engine.dispose()
    return render_template("campaigns.html", campaigns=rows)


def _require_sign_in() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    user = cast(User, current_user)
    if user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("accounts.password"))
    return None


def _load_user(session_id: str) -> User | None:
    """The user of a live server-side session (None ends the cookie's use)."""
    return user_store().session_user(session_id)


def _unauthorized() -> Any:
    if wants_json():
        body = jsonify(error="unauthorized", detail="sign in first", login=url_for("auth.login"))
        return body, 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    """Sign-in: the user store, Flask-Login and this blueprint (the app factory adds the account
    pages and OpenID Connect, which build on this module, after it)."""
    # SIGN_IN_POLICY: a churn.db.sign_in_guard.Policy (tests); default from the settings
    app.extensions["churn_users"] = UserStore(
        app.config["USERS_DB"], policy=app.config.get("SIGN_IN_POLICY")
    )
    manager = LoginManager()
    manager.session_protection = None  # the server-side session decides (churn/db/sessions.py)
    manager.user_loader(_load_user)
    manager.unauthorized_handler(_unauthorized)
    manager.init_app(app)
    app.register_blueprint(bp)
    app.before_request(_require_sign_in)
