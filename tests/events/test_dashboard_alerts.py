"""The dashboard's Retention alerts page (`streamlit.testing.v1.AppTest`, signed in as a viewer):
it lists the alerts `churn events consume` recorded and draws a customer's risk event by event."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from churn.db import events as store
from churn.db.outcomes import engine_for
from churn.db.sessions import local_subject
from churn.db.users import UserStore
from churn.paths import REPO_ROOT
from frontends.streamlit_app.signin import USER_KEY

PAGE = REPO_ROOT / "frontends" / "streamlit_app" / "pages" / "6_Retention_alerts.py"
T = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)


def _row(event_id: str, customer: str, kind: str, p0: float, p1: float, alert: str | None,
         minute: int) -> dict[str, object]:  # fmt: skip
    return {"event_id": event_id, "customerID": customer, "kind": kind, "cause": kind,
            "event_time": T, "handled_at": T + dt.timedelta(minutes=minute),
            "model_version": "3", "churn_probability": p1, "previous_probability": p0,
            "alert": alert, "done": True}  # fmt: skip


def _run(db: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CHURN_PREDICTION_DB", db)
    users = UserStore(db)
    user = users.get("viewer-1") or users.add("viewer-1", "events-page-pass", "viewer")
    with users.engine.begin() as conn:
        info = users.sessions.start(
            conn, local_subject(user.name), user.name, user.role, "password", "127.0.0.1"
        )
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state[USER_KEY] = {"session": info.token}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_lists_the_alerts_and_a_customer_s_risk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'project.db'}"
    engine = engine_for(db)
    rows = [
        _row("a", "C-1", "support_contact", 0.20, 0.20, "cancellation_call", 1),
        _row("b", "C-1", "plan_change", 0.20, 0.55, "crossed", 2),
        _row("c", "C-2", "bill", 0.30, 0.31, None, 3),
    ]
    store.record(engine, rows, [])
    engine.dispose()
    at = _run(db, monkeypatch)
    alerts = at.dataframe[0].value
    assert list(alerts["customerID"]) == ["C-1", "C-1"]  # newest first; C-2 had no alert
    assert list(alerts["why"]) == ["crossed the threshold", "called about cancelling"]
    assert list(alerts["risk"]) == ["55.0%", "20.0%"]
    history = at.dataframe[1].value
    assert list(history["churn_probability"]) == [0.20, 0.55]  # oldest first: the rise


def test_without_alerts_the_page_says_how_to_get_some(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    engine_for(db).dispose()
    at = _run(db, monkeypatch)
    assert "No retention alert yet" in at.info[0].value
