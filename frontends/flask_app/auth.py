"""Sign-in for the Flask UI: users with roles in the project database, Flask-Login sessions.

Roles are ordered viewer < analyst < admin: viewers look, analysts score and upload, admins also
manage users. Every page needs a signed-in user (except `PUBLIC_ENDPOINTS`), and the views check the
role on the server with `requires(role)`, whatever the template shows.
"""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import click
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import AppGroup
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
    hash_fingerprint,
)

log = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = frozenset({"auth.login", "ui.healthz", "metrics", "static"})
SIGN_IN_FAILED = "Unknown user name or wrong password."

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


def audit_sign_in(action: str, name: str, what: str) -> None:
    """The attempt in the audit table (churn.db.users), with the client address after
    `CHURN_PROXY_HOPS`; written before the session starts: no audit row, no session."""
    user_store().audit_sign_in(AUDIT_SUBJECT, action, name, request.remote_addr or "", what)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = SignInForm()
    next_url = request.args.get("next")
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("login.html", form=form, next_url=next_url), 400
        user = user_store().authenticate(form.name.data or "", form.password.data or "")
        if user is None:
            log.warning(
                "failed sign-in for %r from %s", (form.name.data or "")[:64], request.remote_addr
            )
            audit_sign_in("sign_in_failed", form.name.data or "", "unknown name or wrong password")
            form.form_errors.append(SIGN_IN_FAILED)
            return render_template("login.html", form=form, next_url=next_url), 401
        audit_sign_in("sign_in", user.name, f"signed in as {user.role}")
        login_user(user)
        log.info("signed in: %s (%s) from %s", user.name, user.role, request.remote_addr)
        return redirect(_safe_next(next_url))
    return render_template("login.html", form=form, next_url=next_url)


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        log.info("signed out: %s", current_user.name)
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.get("/users")
@requires("admin")
def users() -> str:
    return render_template("users.html", users=user_store().list())


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
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]


def _load_user(user_id: str) -> User | None:
    name, _, fingerprint = user_id.rpartition(":")
    user = user_store().get(name) if name else None
    if user is None or hash_fingerprint(user.password_hash) != fingerprint:
        return None
    return user


def _unauthorized() -> Any:
    if wants_json():
        body = jsonify(error="unauthorized", detail="sign in first", login=url_for("auth.login"))
        return body, 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    app.extensions["churn_users"] = UserStore(app.config["USERS_DB"])
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.user_loader(_load_user)
    manager.unauthorized_handler(_unauthorized)
    manager.init_app(app)
    app.register_blueprint(bp)
    app.before_request(_require_sign_in)
    app.cli.add_command(users_cli)


users_cli = AppGroup("users", help="Add, list and remove the people who may sign in to the UI.")


@users_cli.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
def add_user(name: str, role: str, password_stdin: bool) -> None:
    """Add user NAME; the password is prompted for (twice) unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = user_store().add(name, password, role)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {user.name} ({user.role})")


@users_cli.command("list")
def list_users() -> None:
    """List the users and their roles (never their password hashes)."""
    for row in user_store().list():
        click.echo(f"{row['name']}\t{row['role']}\t{row['created_at']:%Y-%m-%d %H:%M}")


@users_cli.command("remove")
@click.argument("name")
def remove_user(name: str) -> None:
    """Remove user NAME; their open sessions end at their next request."""
    if not user_store().remove(name):
        raise click.ClickException(f"no user named {name!r}")
    click.echo(f"removed {name}")


@users_cli.command("first-admin")
@click.option("--name", default="admin", show_default=True)
def first_admin(name: str) -> None:
    """On a fresh database only: add admin NAME with a generated password, printed once.

    `make ui` runs it, so a new installation can be signed in to; with any user present it does
    nothing."""
    store = user_store()
    if store.list():
        return
    password = secrets.token_urlsafe(12)
    store.add(name, password, "admin")
    click.echo(f"first sign-in: user {name!r}, password {password} (shown once; change it with")
    click.echo("  flask --app frontends.flask_app:create_app users remove/add)")
