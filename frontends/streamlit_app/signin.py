"""Sign-in for the Streamlit dashboard against the Flask UI's users (churn/db/users.py).

Not streamlit-authenticator: it keeps bcrypt hashes in its own YAML and cannot check the werkzeug
hashes of the shared `users` table (docs/security.md). Every page goes through `require_user`
(via `ui.safe_page`), so a signed-out visitor sees only the form, whatever page they open.
"""

from __future__ import annotations

import time

import streamlit as st

from churn.db.users import RANK, User, UserStore
from churn.settings import Settings

USER_KEY = "churn_user"
AUDIT_SUBJECT = "streamlit_dashboard"
"""The audit rows' `model_name` for the dashboard's sign-ins: the door they came through."""
FAILED_KEY = "churn_sign_in_failures"
SIGN_IN_FAILED = "Unknown user name or wrong password."
MAX_FAILURES = 5
LOCKOUT_S = 60.0


@st.cache_resource(show_spinner=False)
def _store(url: str) -> UserStore:
    return UserStore(url)


def store() -> UserStore:
    return _store(Settings().prediction_db)


def current_user() -> User | None:
    """The signed-in user, re-read from the store so a removed user or new password ends it."""
    signed: dict[str, str] | None = st.session_state.get(USER_KEY)
    if not signed:
        return None
    user = store().get(signed["name"])
    if user is None or user.password_hash != signed["password_hash"]:
        st.session_state.pop(USER_KEY, None)
        return None
    return user


def _sign_in_form() -> None:
    failures: list[float] = [
        t for t in st.session_state.get(FAILED_KEY, []) if time.monotonic() - t < LOCKOUT_S
    ]
    st.session_state[FAILED_KEY] = failures
    st.subheader("Sign in")
    st.caption("The same user names and passwords as the Flask ops UI.")
    with st.form("sign-in"):
        name = st.text_input("User name", max_chars=64)
        password = st.text_input("Password", type="password", max_chars=256)
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    if len(failures) >= MAX_FAILURES:
        st.error(f"Too many failed sign-ins; wait {int(LOCKOUT_S)} seconds and try again.")
        return
    user = store().authenticate(name or "", password or "")
    ip = st.context.ip_address  # None on loopback
    address = ip if isinstance(ip, str) else ""
    if user is None:
        store().audit_sign_in(
            AUDIT_SUBJECT, "sign_in_failed", name or "", address, "unknown name or wrong password"
        )
        failures.append(time.monotonic())
        st.error(SIGN_IN_FAILED)
        return
    store().audit_sign_in(AUDIT_SUBJECT, "sign_in", user.name, address, f"signed in as {user.role}")
    st.session_state[USER_KEY] = {"name": user.name, "password_hash": user.password_hash}
    st.session_state.pop(FAILED_KEY, None)
    st.rerun()


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
            st.session_state.pop(USER_KEY, None)
            st.rerun()
    if RANK[user.role] < RANK[role]:
        st.error(
            f"This page needs the {role} role; you are signed in as {user.name} ({user.role})."
        )
        st.stop()
    return user
