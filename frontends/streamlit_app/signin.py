"""Sign-in for the Streamlit dashboard against the Flask UI's users (churn/db/users.py).

Not streamlit-authenticator: it keeps bcrypt hashes in its own YAML and cannot check the werkzeug
hashes of the shared `users` table (docs/security.md). Every page goes through `require_user`
(via `ui.safe_page`), so a signed-out visitor sees only the form, whatever page they open.

The try count, lockout, password check and audit are the shared `UserStore.sign_in`, so a new
browser session (a new websocket) starts no fresh count; the Streamlit session keeps only the
random id of a server-side session (churn/db/sessions.py), re-checked at every run.

With an OpenID provider (`CHURN_SIGN_IN=oidc|both`) the sign-in is Streamlit's own `st.login`
(authorization code + PKCE by Authlib; its `[auth]` section written from the settings by
auth_secrets.py). Its cookie is mapped to a server-side session keyed by the provider's sign-in
(issuer, subject, time, nonce), so sign-out, an admin's revoke and the 8 h / 30 min limits end it
too: a revoked cookie maps to its revoked row, and the dashboard then clears it (`st.logout`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import streamlit as st

from churn.db.sign_in_guard import trusted_client
from churn.db.users import RANK, User, UserError, UserStore
from churn.oidc_tokens import ui_role
from churn.settings import Settings, get_settings

USER_KEY = "churn_user"
AUDIT_SUBJECT = "streamlit_dashboard"
"""The audit rows' `model_name` for the dashboard's sign-ins: the door they came through."""
SIGN_IN_FAILED = "Unknown user name or wrong password."
LOCKED = "Too many sign-in tries: try again in {s} seconds."
BUSY = "The sign-in is busy: try again in a few seconds."


@st.cache_resource(show_spinner=False)
def _store(url: str) -> UserStore:
    return UserStore(url)


def store() -> UserStore:
    return _store(Settings().prediction_db)


def client_address() -> str:
    """The browser's address after `CHURN_PROXY_HOPS` trusted proxies (like Flask's ProxyFix)."""
    peer = st.context.ip_address  # None on loopback
    forwarded = st.context.headers.get("X-Forwarded-For")
    return trusted_client(peer if isinstance(peer, str) else "", forwarded, Settings().proxy_hops)


def current_user() -> User | None:
    """The signed-in user of a live server-side session (signed out, revoked, expired: None)."""
    if get_settings().oidc_on and st.user.is_logged_in:
        return _provider_user()
    signed: dict[str, str] | None = st.session_state.get(USER_KEY)
    if not signed:
        return None
    user = store().session_user(signed.get("session"))
    if user is None:
        st.session_state.pop(USER_KEY, None)
    return user


def _provider_user() -> User | None:
    """The person `st.login` signed in, as a server-side session with the mapped role; a person
    with no mapped role is told why and stopped."""
    settings = get_settings()
    claims: dict[str, Any] = st.user.to_dict()
    subject = f"oidc:{str(claims.get('sub', ''))[:150]}"
    name = str(claims.get("preferred_username") or claims.get("email") or claims.get("sub"))
    role = ui_role(claims, settings.oidc_roles_claim, settings.oidc_role_map)
    if role is None:
        if not st.session_state.get("churn_refusal_audited"):
            store().audit(
                AUDIT_SUBJECT, "sign_in_failed", subject, client_address(), "no mapped role"
            )
            st.session_state["churn_refusal_audited"] = True
        values = ", ".join(sorted(settings.oidc_role_map)) or "(none configured)"
        st.error(
            f"Sign-in refused: you are signed in at your company's identity provider as "
            f"{name[:80]}, but none of your '{settings.oidc_roles_claim}' values is given a role "
            f"in this application (it accepts: {values}). Ask an administrator to add you."
        )
        if st.button("Sign out"):
            st.logout()
        st.stop()
    assert role is not None
    signed_in = claims.get("auth_time") or claims.get("iat") or 0
    key = f"{claims.get('iss')}|{claims.get('sub')}|{signed_in}|{claims.get('nonce')}"
    token = "st-oidc:" + hashlib.sha256(key.encode()).hexdigest()
    when = dt.datetime.fromtimestamp(float(signed_in), dt.UTC)
    user = store().adopt_external(
        AUDIT_SUBJECT, token, subject, name[:128], role, client_address(), when
    )
    if user is None:  # signed out elsewhere, revoked or expired: clear the provider cookie too
        st.info("Your session has ended; signing you out.")
        st.logout()  # the browser follows Streamlit's redirect; nothing more to draw
        st.stop()
    return user


def _sign_in_form() -> None:
    st.subheader("Sign in")
    settings = get_settings()
    if settings.oidc_on and st.button("Sign in with your company account", type="primary"):
        st.login()
    if not settings.local_on:
        return
    st.caption("The same user names and passwords as the Flask ops UI.")
    with st.form("sign-in"):
        name = st.text_input("User name", max_chars=64)
        password = st.text_input("Password", type="password", max_chars=256)
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    result = store().sign_in(AUDIT_SUBJECT, name or "", password or "", client_address())
    if result.outcome == "locked":
        st.error(LOCKED.format(s=result.retry_after_s))
        return
    if result.outcome == "busy":
        st.error(BUSY)
        return
    if result.user is None:
        st.error(SIGN_IN_FAILED)
        return
    st.session_state[USER_KEY] = {"session": result.user.session}
    st.rerun()


def _password_form(user: User) -> None:
    """The first admin's generated password must be changed before anything else."""
    st.subheader("Choose a new password")
    st.caption("Your password was generated at installation; change it to go on.")
    with st.form("password"):
        current = st.text_input("Current password", type="password", max_chars=256)
        new = st.text_input("New password", type="password", max_chars=256)
        again = st.text_input("New password again", type="password", max_chars=256)
        submitted = st.form_submit_button("Change password")
    if not submitted:
        return
    if new != again:
        st.error("The two new passwords differ.")
        return
    try:
        store().change_password(AUDIT_SUBJECT, user, current or "", new or "", client_address())
    except UserError as exc:
        st.error(str(exc))
        return
    from churn.settings import get_settings

    if (path := get_settings().ui.first_admin_file) is not None:
        path.unlink(missing_ok=True)
    st.rerun()


def sign_out(user: User) -> None:
    store().sign_out(AUDIT_SUBJECT, user.session, client_address())
    st.session_state.pop(USER_KEY, None)
    if user.method == "oidc":
        st.logout()


def require_user(role: str = "viewer") -> User:
    """The signed-in user with at least `role`; otherwise show the form (or a refusal) and stop."""
    user = current_user()
    if user is None:
        _sign_in_form()
        st.stop()
    assert user is not None
    with st.sidebar:
        st.caption(f"Signed in as **{user.name}** ({user.role})")
        if st.button("Sign out"):
            sign_out(user)
            if user.method != "oidc":
                st.rerun()
            st.stop()  # st.logout's redirect must not be lost to a rerun
    if user.must_change_password:
        _password_form(user)
        st.stop()
    if RANK[user.role] < RANK[role]:
        st.error(
            f"This page needs the {role} role; you are signed in as {user.name} ({user.role})."
        )
        st.stop()
    return user
