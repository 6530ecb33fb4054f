"""Accounts in the Flask UI: the password change (forced for the first admin), an admin's
"end this person's sessions", and the `flask users` CLI (add, list, remove, first-admin)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any, cast

import click
from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.cli import AppGroup
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import InputRequired, Length

from frontends.flask_app.auth import (
    AUDIT_SUBJECT,
    ROLES,
    User,
    UserError,
    client_address,
    requires,
    user_store,
)

bp = Blueprint("accounts", __name__)


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired(), Length(max=1024)])
    new = PasswordField("New password", validators=[InputRequired(), Length(max=1024)])
    again = PasswordField("New password again", validators=[InputRequired(), Length(max=1024)])


@bp.route("/password", methods=["GET", "POST"])
def password() -> Any:
    """Change one's own password; every other session of the account ends. The first admin's
    generated password must be changed here first, and its file is then deleted."""
    user = cast(User, current_user)
    if user.method != "password":
        flash("Your password is managed by your company's identity provider.")
        return redirect(url_for("ui.home"))
    form = PasswordForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("password.html", form=form), 400
        if form.new.data != form.again.data:
            form.form_errors.append("The two new passwords differ.")
            return render_template("password.html", form=form), 400
        was_forced = user.must_change_password
        try:
            user_store().change_password(
                AUDIT_SUBJECT, user, form.current.data or "", form.new.data or "", client_address()
            )
        except UserError as exc:
            form.form_errors.append(str(exc))
            return render_template("password.html", form=form), 400
        if was_forced:
            remove_first_admin_file()
        flash("Your password is changed; your other sessions are signed out.")
        return redirect(url_for("ui.home"))
    return render_template("password.html", form=form)


@bp.post("/users/revoke")
@requires("admin")
def revoke() -> Any:
    """End every session of a person (an account or a provider subject), in every worker."""
    subject = (request.form.get("subject") or "").strip()[:160]
    if not subject:
        message = "subject: say whose sessions to end"
        return render_template("error.html", title="Bad request", message=message, status=400), 400
    admin = cast(User, current_user)
    ended = user_store().revoke(AUDIT_SUBJECT, subject, admin.name, client_address())
    flash(f"Ended {ended} session(s) of {subject}.")
    return redirect(url_for("auth.users"))


def first_admin_file() -> Path | None:
    from churn.settings import get_settings

    return get_settings().ui.first_admin_file


def remove_first_admin_file() -> None:
    """The plaintext file of the first admin's password is gone once it is changed."""
    path = first_admin_file()
    if path is not None:
        path.unlink(missing_ok=True)


users_cli = AppGroup("users", help="Add, list and remove the people who may sign in to the UI.")


@users_cli.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
def add_user(name: str, role: str, password_stdin: bool) -> None:
    """Add user NAME; the password is prompted for (twice) unless --password-stdin."""
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = user_store().add(name, secret, role)
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
    """Remove user NAME; their open sessions end at once."""
    if not user_store().remove(name):
        raise click.ClickException(f"no user named {name!r}")
    click.echo(f"removed {name}")


@users_cli.command("revoke")
@click.argument("subject")
def revoke_sessions(subject: str) -> None:
    """End every session of SUBJECT (`local:NAME` or `oidc:SUBJECT`) in both UIs."""
    ended = user_store().revoke("flask_cli", subject, os.environ.get("USER", "cli"))
    click.echo(f"ended {ended} session(s) of {subject}")


@users_cli.command("first-admin")
@click.option("--name", default="admin", show_default=True)
def first_admin(name: str) -> None:
    """On a fresh database only: add admin NAME with a generated password that must be changed
    at the first sign-in. Printed once, or written to `CHURN_UI_FIRST_ADMIN_FILE` (mode 600),
    which the password change deletes.

    `make ui` runs it, so a new installation can be signed in to; with any user present it does
    nothing."""
    store = user_store()
    if store.list():
        return
    secret = secrets.token_urlsafe(12)
    store.add(name, secret, "admin", must_change=True)
    path = first_admin_file()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{name} {secret}\n")
        click.echo(f"first sign-in: user {name!r}, password in {path} (deleted once changed)")
        return
    click.echo(f"first sign-in: user {name!r}, password {secret} (shown once; you must change")
    click.echo("  it at the first sign-in)")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
