"""Streamlit plumbing shared by the pages: the cached client and friendly error handling."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from churn.settings import Settings
from frontends.common.client import ChurnClient, ServiceRejected, ServiceUnavailable
from frontends.streamlit_app.signin import require_user

T = TypeVar("T")
log = logging.getLogger(__name__)


def settings() -> Settings:
    return Settings()


@st.cache_resource(show_spinner=False)
def _client(url: str, timeout_s: float, token: str | None) -> ChurnClient:
    return ChurnClient(url, timeout_s=timeout_s, retries=2, token=token)


def client() -> ChurnClient:
    s = settings()
    return _client(s.service_url, s.request_timeout_s, s.api_token)


def reports_dir() -> Path:
    return settings().reports_dir


def call_service(fn: Callable[[], T]) -> T:
    """Run a service call; on failure show a clear message and stop the page (no traceback)."""
    try:
        return fn()
    except ServiceUnavailable as exc:
        st.error(
            f"The churn scoring service is unreachable right now: {exc.message}. "
            "Check that it is running (`make serve`) and reload this page."
        )
        st.stop()
    except ServiceRejected as exc:
        details = "; ".join(str(d) for d in exc.detail) or exc.message
        st.error(f"The service rejected the input: {details}")
        st.stop()
    raise AssertionError("unreachable")  # pragma: no cover


def safe_page(
    title: str, role: str = "viewer"
) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Page decorator: the title, a signed-in user with at least `role` (the sign-in form
    otherwise), and any unexpected error turned into a short message."""

    def decorate(render: Callable[[], None]) -> Callable[[], None]:
        @wraps(render)
        def run() -> None:
            st.title(title)
            require_user(role)
            try:
                render()
            except Exception:
                log.exception("dashboard page %r failed", title)
                st.error("This page failed to render; the error has been logged. Try reloading.")

        return run

    return decorate


def percent(value: Any) -> str:
    return f"{float(value) * 100:.1f}%"
