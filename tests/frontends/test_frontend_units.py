"""Small pure pieces: dashboard config, drift history reading, what-if rules, the drivers chart."""

from __future__ import annotations

from pathlib import Path

from frontend_servers import REPO_ROOT

from churn.schema import EXAMPLE_RECORD, NO_INTERNET, CustomerRecord
from frontends.flask_app.charts import driver_chart
from frontends.streamlit_app import drift, whatif


def test_dashboard_config_hides_error_details() -> None:
    from streamlit import config

    config._main_script_path = str(REPO_ROOT / "frontends" / "streamlit_app" / "Home.py")
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("client.showErrorDetails") == "none"
        assert config.get_option("browser.gatherUsageStats") is False
    finally:
        config._main_script_path = None
        config.get_config_options(force_reparse=True)


def test_no_history_means_an_empty_frame(tmp_path: Path) -> None:
    history = drift.load_history(tmp_path)
    assert history.empty
    assert drift.latest_report(tmp_path, history) is None


def test_latest_report_falls_back_to_the_newest_html(tmp_path: Path) -> None:
    folder = tmp_path / "drift"
    folder.mkdir()
    (folder / "history.jsonl").write_text(
        '{"timestamp": "2026-11-01T00:00:00Z", "drift_share": 0.2, "report_path": "gone.html"}\n'
    )
    (folder / "other.html").write_text("<html></html>")
    history = drift.load_history(tmp_path)
    assert len(history) == 1
    assert drift.latest_report(tmp_path, history) == folder / "other.html"


def test_threshold_line_follows_the_latest_run(tmp_path: Path) -> None:
    folder = tmp_path / "drift"
    folder.mkdir()
    runs = [
        '{"timestamp": "2026-11-01T00:00:00Z", "drift_share": 0.2}',  # before runs recorded it
        '{"timestamp": "2026-11-02T00:00:00Z", "drift_share": 0.1, "drift_share_threshold": 0.25}',
    ]
    (folder / "history.jsonl").write_text(runs[0] + "\n")
    assert drift.latest_threshold(drift.load_history(tmp_path), 0.05) == 0.05
    (folder / "history.jsonl").write_text("\n".join(runs) + "\n")
    assert drift.latest_threshold(drift.load_history(tmp_path), 0.05) == 0.25
    (folder / "history.jsonl").write_text(
        runs[1] + '\n{"timestamp": "2026-11-03T00:00:00Z", "drift_share": 0.0, '
        '"drift_share_threshold": null}\n'
    )
    assert drift.latest_threshold(drift.load_history(tmp_path), 0.05) == 0.05


def test_what_if_reconcile_keeps_the_record_valid() -> None:
    record = {k: v for k, v in EXAMPLE_RECORD.items() if k != "customerID"}
    record["InternetService"] = "No"
    fixed = whatif.reconcile(record)
    assert fixed["OnlineBackup"] == NO_INTERNET
    CustomerRecord.model_validate(fixed)
    fixed["InternetService"] = "DSL"
    assert whatif.reconcile(fixed)["OnlineBackup"] == "No"
    assert whatif.allowed_choices("MultipleLines", {"PhoneService": "No"}) == ("No phone service",)


def test_driver_chart_puts_negative_bars_left_of_zero() -> None:
    chart = driver_chart(
        [
            {"feature": "tenure", "value": 1, "contribution": 0.8},
            {"feature": "Contract", "value": "Two year", "contribution": -0.4},
        ]
    )
    up, down = chart.bars
    assert up.x == chart.zero_x and up.width > 0
    assert down.x + down.width == chart.zero_x
    assert down.width == up.width / 2
    assert driver_chart([]).bars == []
