"""Every dashboard page through `streamlit.testing.v1.AppTest`, against the real service."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from frontend_servers import REPO_ROOT
from streamlit.testing.v1 import AppTest

from churn.db.audit import recent
from churn.db.sessions import local_subject
from churn.db.users import User, UserStore
from frontends.streamlit_app.signin import AUDIT_SUBJECT, SIGN_IN_FAILED, USER_KEY

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

APP = REPO_ROOT / "frontends" / "streamlit_app"
PAGES = [
    "Home.py",
    "pages/1_At_risk.py",
    "pages/2_What_if.py",
    "pages/3_Model.py",
    "pages/4_Monitoring.py",
]
TIMEOUT_S = 120


@pytest.fixture()
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHURN_REPORTS_DIR", str(tmp_path))
    monkeypatch.setenv("CHURN_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'no-mlflow.db'}")
    return tmp_path


@pytest.fixture()
def up(service_url: str, reports: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CHURN_SERVICE_URL", service_url)
    yield service_url


@pytest.fixture()
def down(dead_url: str, reports: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CHURN_SERVICE_URL", dead_url)
    yield dead_url


PASSWORD = "streamlit-test-pass"


def _user(role: str) -> User:
    """A user of the shared store (the session's CHURN_PREDICTION_DB), one per role."""
    store = UserStore(os.environ["CHURN_PREDICTION_DB"])
    name = f"st-{role}"
    return store.get(name) or store.add(name, PASSWORD, role)


def _session(user: User) -> str:
    """A live server-side session of `user` (what a sign-in leaves in the Streamlit session)."""
    store = UserStore(os.environ["CHURN_PREDICTION_DB"])
    with store.engine.begin() as conn:
        info = store.sessions.start(
            conn, local_subject(user.name), user.name, user.role, "password", "127.0.0.1"
        )
    return info.token


def run(page: str, role: str | None = "analyst") -> AppTest:
    """The page run once, signed in as a user with `role` (None: signed out)."""
    at = AppTest.from_file(str(APP / page), default_timeout=TIMEOUT_S)
    if role is not None:
        at.session_state[USER_KEY] = {"session": _session(_user(role))}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    parts = (
        [m.value for m in at.markdown] + [e.value for e in at.error] + [i.value for i in at.info]
    )
    parts += [w.value for w in at.warning] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def test_home_says_the_service_is_ready(up: str) -> None:
    at = run("Home.py")
    assert "is ready" in at.success[0].value


def test_at_risk_scores_a_drawn_sample_in_chunks(up: str) -> None:
    at = run("pages/1_At_risk.py")
    assert "Draw a sample" in at.info[0].value or at.info
    at.number_input(key="rows").set_value(2500)
    at.button(key="draw").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Customers scored"] == "2,500"  # 3 chunks of at most 1000
    assert metrics["Monthly revenue at risk"].startswith("$")
    table = at.dataframe[0].value
    probs = table["churn_probability"].tolist()
    assert probs == sorted(probs, reverse=True)
    assert len(at.get("vega_lite_chart")) == 4  # histogram + 3 segment charts


def test_what_if_follows_the_edits(up: str) -> None:
    at = run("pages/2_What_if.py")
    before = at.metric[0].value
    assert before.endswith("%")
    at.selectbox(key="wi_Contract_3").set_value("Two year").run()
    at.number_input(key="wi_tenure").set_value(60).run()
    assert not at.exception
    after = at.metric[0].value
    assert float(after.rstrip("%")) < float(before.rstrip("%"))
    # switching internet off forces the add-ons to "No internet service" (no invalid record)
    at.selectbox(key="wi_InternetService_3").set_value("No").run()
    assert not at.exception
    assert at.selectbox(key="wi_OnlineSecurity_1").value == "No internet service"
    assert not at.error


def test_model_page_shows_metrics_and_candidates(up: str) -> None:
    at = run("pages/3_Model.py")
    labels = {m.label for m in at.metric}
    assert {"threshold", "roc_auc"} <= labels
    assert "hist_gradient_boosting" in at.dataframe[0].value["name"].tolist()
    assert "No MLflow tracking store" in _texts(at)


def test_monitoring_without_drift_runs(up: str) -> None:
    at = run("pages/4_Monitoring.py")
    assert "No drift runs yet" in _texts(at)
    assert any(m.label == "Requests served" for m in at.metric)


def test_monitoring_reads_the_drift_history(up: str, reports: Path) -> None:
    folder = reports / "drift"
    folder.mkdir()
    (folder / "drift_2.html").write_text("<html><body>drift report</body></html>")
    lines = [
        {
            "timestamp": "2026-11-20T10:00:00Z",
            "drift_detected": False,
            "drift_share": 0.1,
            "drifted_features": [],
            "n_rows": 500,
            "report_path": "reports/drift/drift_1.html",
        },
        {
            "timestamp": "2026-11-21T10:00:00Z",
            "drift_detected": True,
            "drift_share": 0.45,
            "drifted_features": ["MonthlyCharges", "Contract"],
            "n_rows": 800,
            "report_path": str(folder / "drift_2.html"),
        },
    ]
    (folder / "history.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken")
    at = run("pages/4_Monitoring.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Latest drift share"] == "45.0%"
    assert metrics["Drift detected"] == "yes"
    assert metrics["Runs"] == "2"
    assert "MonthlyCharges" in _texts(at)


@pytest.mark.parametrize("page", PAGES)
def test_pages_explain_an_unreachable_service_without_a_traceback(down: str, page: str) -> None:
    at = run(page)
    text = _texts(at)
    assert "Traceback" not in text
    if page in ("pages/2_What_if.py", "pages/3_Model.py"):
        assert "unreachable" in at.error[0].value
    elif page == "Home.py":
        assert "unreachable" in at.warning[0].value
    elif page == "pages/4_Monitoring.py":
        assert "unreachable" in _texts(at)


@pytest.mark.slow
def test_model_page_lists_the_latest_mlflow_runs(
    up: str, reports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    uri = f"sqlite:///{reports / 'mlruns.db'}"
    monkeypatch.setenv("CHURN_MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("telco_churn")
    for name, auc in (("logistic_regression", 0.84), ("random_forest", 0.83)):
        with mlflow.start_run(run_name=name):
            mlflow.log_metric("cv_roc_auc", auc)
    at = run("pages/3_Model.py")
    runs = at.dataframe[1].value
    assert set(runs["runName"]) == {"logistic_regression", "random_forest"}
    assert sorted(runs["cv_roc_auc"]) == [0.83, 0.84]


@pytest.mark.parametrize("page", PAGES)
def test_signed_out_pages_show_only_the_sign_in_form(down: str, page: str) -> None:
    at = run(page, role=None)
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.metric and not at.dataframe and not at.success


def test_sign_in_checks_the_shared_users_and_a_viewer_cannot_score(down: str) -> None:
    _user("viewer")
    at = run("pages/2_What_if.py", role=None)
    at.text_input[0].input("st-viewer")
    at.text_input[1].input("not-the-password")
    at.button[0].click().run()
    assert SIGN_IN_FAILED in [e.value for e in at.error]
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("needs the analyst role" in str(e.value) for e in at.error)
    assert not at.metric
    # both attempts audited, newest first, naming the name tried and never the password
    rows = recent(url=os.environ["CHURN_PREDICTION_DB"], actions=["sign_in", "sign_in_failed"])
    mine = [e for e in rows if e.model_name == AUDIT_SUBJECT and e.actor == "st-viewer"]
    assert [e.action for e in mine[:2]] == ["sign_in", "sign_in_failed"]
    assert "signed in as viewer" in mine[0].reason
    assert not any(PASSWORD in e.reason or "not-the-password" in e.reason for e in mine)


def test_a_removed_user_is_signed_out_at_the_next_run(down: str) -> None:
    at = run("pages/3_Model.py", role="admin")
    assert not at.text_input
    UserStore(os.environ["CHURN_PREDICTION_DB"]).remove("st-admin")
    at.run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]
