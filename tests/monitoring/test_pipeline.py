"""The monitoring pipeline for real (local ZenML store) through `churn monitor`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from churn.cli import main
from churn.generator import generate
from churn.schema import FEATURE_NAMES
from tests.monitoring.conftest import MonitoredModel, WriteConfig
from tests.monitoring.helpers import write_log

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


def _one_json_line(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be ONE JSON line, got: {out[:2000]}"
    result: dict = json.loads(lines[0])
    return result


def test_no_production_model_is_a_clear_error(
    write_config: WriteConfig, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitor", "--config", str(write_config(model_name="no_such_model"))]) == 1
    out, err = capfd.readouterr()
    assert out == ""
    assert "no production version of model 'no_such_model'" in err
    assert "Traceback" not in err


def test_drifted_log_raises_drift_through_the_pipeline(
    stub_production_model: MonitoredModel,
    write_config: WriteConfig,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from zenml.client import Client

    db = f"sqlite:///{tmp_path / 'log.db'}"
    live = generate(1200, seed=41, drift="contract_shift")
    probs = stub_production_model.model.predict_proba(live[list(FEATURE_NAMES)])[:, 1]
    write_log(db, live, probs, stub_production_model.version)
    config = write_config(
        model_name=stub_production_model.name,
        prediction_db=db,
        window_rows=1200,
        min_rows=500,
        reference_max_rows=3000,
    )
    assert main(["monitor", "--config", str(config)]) == 0
    out, _ = capfd.readouterr()
    result = _one_json_line(out)
    assert result["drift_detected"] is True, result
    assert {"Contract", "tenure"} <= set(result["drifted_features"])
    assert result["n_rows"] == 1200
    assert 0 < result["drift_share"] <= 1
    report = Path(result["report_path"])
    assert report.parent == tmp_path / "reports" / "drift" and report.stat().st_size > 100_000
    assert any("predicted churn probability drifted" in r for r in result["reasons"])
    assert result["retrain"] == {
        "started": False,
        "reason": "drift detected but retrain_on_drift is off",
    }

    metrics = (tmp_path / "reports" / "drift" / "metrics.prom").read_text()
    assert "churn_drift_detected 1.0\n" in metrics
    history = (tmp_path / "reports" / "drift" / "history.jsonl").read_text().splitlines()
    assert json.loads(history[-1])["report_path"] == str(report)

    run = Client().get_pipeline_run(result["run_id"])
    drift: Any = run.run_metadata["drift"]
    assert drift["drifted_features"] == result["drifted_features"]
    html = run.steps["detect_drift"].outputs["drift_report"][0].load()
    assert type(html).__name__ == "HTMLString" and "Contract" in html
    load_step = run.steps["load_reference"].run_metadata
    assert load_step["production_version"] == stub_production_model.version


def test_fresh_training_data_is_reference_plus_labelled(tmp_path: Path) -> None:
    from churn.generator import to_csv_text
    from steps.monitoring.retrain import fresh_training_data

    reference = generate(300, seed=1)
    labelled = generate(50, seed=2, drift="price_rise")
    labelled.loc[0, "customerID"] = reference.loc[5, "customerID"]  # a customer re-labelled
    path = tmp_path / "labelled.csv"
    path.write_text(to_csv_text(labelled))
    fresh = fresh_training_data(reference, path)
    assert len(fresh) == 349
    row = fresh[fresh["customerID"] == reference.loc[5, "customerID"]]
    assert len(row) == 1 and row["MonthlyCharges"].item() == labelled.loc[0, "MonthlyCharges"]
    assert len(fresh_training_data(reference, None)) == 300


def test_training_run_name_is_read_from_churn_train_output() -> None:
    from steps.monitoring.retrain import training_run_name

    out = 'log line\n{"pipeline_run": "training_pipeline-2026_11_26", "status": "completed"}\n'
    assert training_run_name(out) == "training_pipeline-2026_11_26"
    assert training_run_name("no json here\n{broken") is None
