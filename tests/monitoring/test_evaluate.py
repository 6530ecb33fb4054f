"""One evaluation end to end without ZenML: report on disk, metrics textfile, history line."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.generator import generate
from churn.monitoring.config import MonitoringConfig
from churn.monitoring.export import read_history

pytestmark = pytest.mark.timeout(300)


def test_too_few_rows_writes_no_report_and_no_alarm(tmp_path: Path) -> None:
    from steps.monitoring.evaluate import evaluate

    cfg = MonitoringConfig(reports_dir=tmp_path, min_rows=500)
    decision, page = evaluate(cfg, generate(600, seed=1), generate(40, seed=2, drift="fiber_surge"))
    assert decision.drift_detected is None
    assert decision.report_path is None
    assert "too few live rows: 40 &lt; min_rows 500" in page
    assert "churn_drift_detected 0.0\n" in (tmp_path / "drift" / "metrics.prom").read_text()
    assert not list((tmp_path / "drift").glob("*.html"))
    assert read_history(tmp_path)[-1]["drift_detected"] is None


@pytest.mark.slow
def test_drifted_window_writes_a_timestamped_report(tmp_path: Path) -> None:
    from steps.monitoring.evaluate import evaluate

    cfg = MonitoringConfig(reports_dir=tmp_path, min_rows=100)
    decision, page = evaluate(
        cfg, generate(3000, seed=1), generate(1000, seed=2, drift="price_rise")
    )
    assert decision.drift_detected is True
    assert decision.drifted_features[0] == "MonthlyCharges"
    assert any("prediction drift not checked" in r for r in decision.reasons)
    report = Path(decision.report_path or "")
    assert report.parent == tmp_path / "drift" and report.name.startswith("drift_report_")
    assert report.read_text() == page and "MonthlyCharges" in page and len(page) > 100_000
    assert "churn_drift_detected 1.0\n" in (tmp_path / "drift" / "metrics.prom").read_text()
    history = read_history(tmp_path)
    assert history[-1]["report_path"] == str(report)
    assert history[-1]["drifted_features"] == decision.drifted_features
