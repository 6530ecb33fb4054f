"""The monitoring pipeline for real (local ZenML store) through `churn monitor`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from churn.cli import main
from churn.db.audit import recent
from churn.generator import generate
from churn.schema import FEATURE_NAMES
from churn.settings import get_settings
from tests.fixtures.db_faults import count_rows
from tests.monitoring.conftest import MonitoredModel, WriteConfig
from tests.monitoring.helpers import write_log

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture()
def retention_30_days(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHURN_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CHURN_RETENTION_DAYS")
    get_settings.cache_clear()


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
    retention_30_days: None,
) -> None:
    from zenml.client import Client

    db = f"sqlite:///{tmp_path / 'log.db'}"
    # retention on: five rows from 200 days ago are purged after the window is read
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=200)
    write_log(db, generate(5, seed=3), created_at=old)
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

    # The artifacts between the steps load back as their typed models, and print as before.
    from churn.artifacts import RealizedReport, RetrainResult, RollbackResult
    from churn.monitoring.decision import DriftDecision

    def output(step: str, name: str) -> Any:
        return run.steps[step].outputs[name][0].load()

    decision = output("detect_drift", "drift_decision")
    assert isinstance(decision, DriftDecision)
    assert decision.drifted_features == result["drifted_features"]
    assert decision.model_version == stub_production_model.version
    assert {c.column for c in decision.columns if c.drifted} == set(decision.drifted_features)
    retrain = output("retrain_on_drift", "retrain_result")
    assert isinstance(retrain, RetrainResult) and retrain.as_json() == result["retrain"]
    realized = output("evaluate_outcomes", "realized")
    assert isinstance(realized, RealizedReport) and realized.n_outcomes == 0
    rollback = output("auto_rollback", "rollback_result")
    assert isinstance(rollback, RollbackResult) and rollback.performed is False
    assert result["realized"] == {**realized.as_json(), "rollback": rollback.as_json()}

    window = output("load_live_window", "live_window")
    assert "customerID" not in window.columns and "request_id" not in window.columns
    # CHURN_RETENTION_DAYS: the purge ran last, batched and audited, and said what it starves
    purged = output("purge_expired", "purged")
    assert purged.deleted == {
        "prediction_log": 5,
        "outcomes": 0,
        "customer_events": 0,
        "audit_log": 0,
        "campaign_assignments": 0,
        "campaign_contacts": 0,
    }
    assert result["purged"] == purged.as_json() and "CHURN_RETENTION_DAYS=30" in purged.note
    assert count_rows(db) == 1200
    (audit,) = recent(5, url=db, actions=["privacy_purge"])
    assert (audit.actor, audit.source, audit.to_version) == ("monitoring", "pipeline", "30d")


def test_fresh_training_data_is_reference_plus_labelled(tmp_path: Path) -> None:
    from churn.generator import to_csv_text
    from pipelines.retrain import fresh_training_data

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


def test_retraining_names_its_training_run_in_a_copy_of_the_training_config(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    """The run is found by the name it was given, not by parsing what `churn train` prints."""
    from churn.monitoring.config import parse_config
    from churn.settings import REPO_ROOT
    from churn.training.config import load_run_config
    from pipelines.retrain import retrain_config

    source = REPO_ROOT / "configs" / "training_fast.yaml"
    cfg = parse_config({"training_config": str(source)})
    path = retrain_config(cfg, tmp_path, "training_pipeline-retrain-x", "20261129T060000_000001")
    assert path == tmp_path / "retrain_config_20261129T060000_000001.yaml"
    written = load_run_config(path)  # what `churn train` checks first
    assert written.run_name == "training_pipeline-retrain-x"
    original = load_run_config(source)
    assert written.parameters == original.parameters
    assert written.model_dump(exclude={"run_name"}) == original.model_dump(exclude={"run_name"})
