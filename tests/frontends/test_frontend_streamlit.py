"""Every dashboard page through `streamlit.testing.v1.AppTest`, against the real service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from frontend_servers import REPO_ROOT
from streamlit.testing.v1 import AppTest

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


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(APP / page), default_timeout=TIMEOUT_S)
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
