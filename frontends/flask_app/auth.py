"""Sign-in for the Flask UI: users with roles in the project database, Flask-Login sessions.

Roles are ordered viewer < analyst < admin: viewers look, analysts score and upload, admins also
manage users. Every page needs a signed-in user (except `PUBLIC_ENDPOINTS`), and the views check the
role on the server with `requires(role)`, whatever the template shows.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import click
import sqlalchemy as sa
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
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

log = logging.getLogger(__name__)

ROLES = ("viewer", "analyst", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
MIN_PASSWORD_LENGTH = 10
MAX_NAME_LENGTH = 64
PUBLIC_ENDPOINTS = frozenset({"auth.login", "ui.healthz", "metrics", "static"})
SIGN_IN_FAILED = "Unknown user name or wrong password."
# Checked when the name is unknown, so a failed sign-in takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-real-password-at-all")

F = TypeVar("F", bound=Callable[..., Any])

metadata = sa.MetaData()
users_table = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(MAX_NAME_LENGTH), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


class RoleRequired(Forbidden):
    """403: signed in, but the role is too low for this action."""


class UserError(ValueError):
    """A user cannot be added or changed as asked (the message says why)."""


@dataclass(frozen=True)
class User:
    """A signed-in person, as Flask-Login sees them."""

    name: str
    role: str
    password_hash: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        # A fingerprint of the hash rides along: a new password or a removal ends old sessions.
        return f"{self.name}:{_fingerprint(self.password_hash)}"

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable() or ":" in name:
        raise UserError(
            f"user name must be 1-{MAX_NAME_LENGTH} printable characters without ':' "
            f"(got {name!r:.80})"
        )
    return name


def check_role(role: str) -> str:
    if role not in RANK:
        raise UserError(f"role must be one of {', '.join(ROLES)} (got {role!r:.40})")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


class UserStore:
    """The `users` table in the project database; the engine and table are made on first use,
    so building the app never touches a database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            engine = sa.create_engine(self.url, future=True)
            metadata.create_all(engine, checkfirst=True)
            self._engine = engine
        return self._engine

    def add(self, name: str, password: str, role: str) -> User:
        name, role = check_name(name), check_role(role)
        password_hash = generate_password_hash(check_password(password))
        insert = users_table.insert().values(
            name=name, password_hash=password_hash, role=role, created_at=datetime.now(UTC)
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(insert)
        except sa.exc.IntegrityError as exc:
            raise UserError(f"user {name!r} already exists") from exc
        return User(name=name, role=role, password_hash=password_hash)

    def get(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(users_table).where(users_table.c.name == name))
                .mappings()
                .first()
            )
        if row is None:
            return None
        name, role, password_hash = str(row["name"]), str(row["role"]), str(row["password_hash"])
        return User(name=name, role=role, password_hash=password_hash)

    def list(self) -> list[dict[str, Any]]:
        query = sa.select(users_table.c.name, users_table.c.role, users_table.c.created_at)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(users_table.c.name)).mappings()]

    def remove(self, name: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(users_table.delete().where(users_table.c.name == name))
        return bool(result.rowcount)

    def authenticate(self, name: str, password: str) -> User | None:
        user = self.get(name.strip())
        if user is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return user if check_password_hash(user.password_hash, password) else None


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
            form.form_errors.append(SIGN_IN_FAILED)
            return render_template("login.html", form=form, next_url=next_url), 401
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


def _require_sign_in() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]


def _load_user(user_id: str) -> User | None:
    name, _, fingerprint = user_id.rpartition(":")
    user = user_store().get(name) if name else None
    if user is None or _fingerprint(user.password_hash) != fingerprint:
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
