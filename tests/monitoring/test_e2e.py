"""End to end on loopback: a production model, the real service, replayed traffic, monitoring.

    train (or the stand-in) -> serve -> replay undrifted traffic -> no drift
    -> replay each drifted scenario -> drift, the right features named, an HTML report on disk;
    with retraining on (last scenario) a new model version; the result carries its promote step's
    outputs (`promoted`, `model_card`).

Plugging in: when the shared `trained_model` fixture (tests/fixtures/training.py) is installed, it
provides the production model and the BentoML model; otherwise a stand-in is registered here.
Retraining needs the training pipeline and `configs/training_fast.yaml`; it is skipped without them.
Cost: one service start, four replays of 1200 rows, four monitoring runs, at most one training run.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from churn.generator import generate, to_csv_text
from churn.monitoring.window import read_window
from churn.schema import FEATURE_NAMES
from churn.settings import REPO_ROOT, get_settings
from tests.monitoring.conftest import MonitoredModel, WriteConfig

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1500)]

ROWS = 1200
SCENARIOS = [
    ("none", set()),
    ("price_rise", {"MonthlyCharges"}),
    ("contract_shift", {"Contract"}),  # tenure usually too
    ("fiber_surge", {"InternetService", "MonthlyCharges"}),
]
FAST_TRAINING = REPO_ROOT / "configs" / "training_fast.yaml"


def _production_sklearn_model(name: str, version: str) -> Any:
    from zenml.client import Client

    from churn.monitoring.config import MonitoringConfig
    from steps.monitoring.production import production_model

    model = production_model(Client().get_model_version(name, version), MonitoringConfig())
    assert model is not None, f"model version {version} has no model artifact"
    return model


@pytest.fixture(scope="module")
def e2e_model(request: pytest.FixtureRequest) -> MonitoredModel:
    try:
        trained = request.getfixturevalue("trained_model")
    except pytest.FixtureLookupError:
        trained = None
    if trained is not None:
        name, version = trained.model_name, trained.model_version
        return MonitoredModel(name, version, _production_sklearn_model(name, version))
    from tests.fixtures.promotable import SHIPPED_FAMILY, save_candidate
    from tests.monitoring.production_stub import register_production_model

    name = get_settings().model_name
    version = register_production_model(name, rows=4000, seed=1)
    # what the service loads
    save_candidate(SHIPPED_FAMILY, generate(4000, seed=1), version=version, name=name)
    return MonitoredModel(name, version, _production_sklearn_model(name, version))


@pytest.fixture(scope="module")
def e2e_service(
    e2e_model: MonitoredModel, session_dir: Path
) -> Iterator[tuple[str, str, str | None]]:
    """The real BentoML service on a free loopback port, logging to its own prediction DB."""
    from tests.fixtures.launcher import start_service

    db = f"sqlite:///{session_dir / 'monitoring_e2e_log.db'}"
    env = {"CHURN_PREDICTION_DB": db, "CHURN_SERVICE_WORKERS": "1"}
    running = start_service(env=env, log_path=session_dir / "monitoring_e2e_service.log")
    try:
        yield running.url, db, running.token
    finally:
        running.stop()


def _wait_for_rows(db: str, expected: int, timeout: float = 90.0) -> None:
    """The service writes its log from a background thread: wait until our rows are there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(read_window(db, expected + 10)) >= expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"the prediction log did not reach {expected} rows in {timeout}s")


def _retraining_available() -> bool:
    return FAST_TRAINING.exists() and importlib.util.find_spec("pipelines.training") is not None


def test_drift_appears_and_retrains(
    e2e_model: MonitoredModel,
    e2e_service: tuple[str, str, str | None],
    write_config: WriteConfig,
    tmp_path: Path,
) -> None:
    from zenml.client import Client

    from churn.cli.monitor import run_once
    from load_tests.replay import read_customers, replay

    url, db, token = e2e_service
    sent = 0
    retrain_scenario = SCENARIOS[-1][0] if _retraining_available() else None
    for i, (scenario, moved) in enumerate(SCENARIOS):
        live = generate(ROWS, seed=100 + i, drift=scenario)
        csv_path = tmp_path / f"{scenario}.csv"
        csv_path.write_text(to_csv_text(live))
        summary = replay(
            read_customers(csv_path), url, rate=20, batch_size=100, max_seconds=120, token=token
        )
        assert summary.errors == 0 and summary.records_ok == ROWS, summary
        sent += ROWS
        _wait_for_rows(db, sent)

        retrain = scenario == retrain_scenario
        labelled = tmp_path / f"{scenario}_labelled.csv"
        if retrain:  # the drifted customers, labelled later by the business
            labelled.write_text(to_csv_text(generate(1500, seed=200 + i, drift=scenario)))
        config = write_config(
            model_name=e2e_model.name,
            prediction_db=db,
            window_rows=ROWS,
            min_rows=500,
            reference_max_rows=3000,
            retrain_on_drift=retrain,
            labelled_data_path=str(labelled) if retrain else None,
            training_config=str(FAST_TRAINING),
        )
        versions_before = len(Client().list_model_versions(e2e_model.name, size=100).items)
        result = run_once(config)

        if scenario == "none":
            assert result["drift_detected"] is False, result["reasons"]
            assert result["drifted_features"] == []
        else:
            assert result["drift_detected"] is True, result["reasons"]
            assert moved <= set(result["drifted_features"]), result["reasons"]
        report = Path(result["report_path"])
        assert report.exists() and report.stat().st_size > 100_000
        assert result["n_rows"] == ROWS

        if retrain:
            outcome = result["retrain"]
            assert outcome["started"] and outcome["succeeded"], outcome
            versions = Client().list_model_versions(e2e_model.name, size=100).items
            assert len(versions) == versions_before + 1
            training_run = Client().get_pipeline_run(outcome["training_run_id"])
            # The result carries the training run's promote step outputs, typed.
            from churn.model_card import ModelCard

            promote = training_run.steps["promote"].outputs
            assert outcome["promoted"] is promote["promoted"][0].load()
            card = promote["model_card"][0].load()
            assert isinstance(card, ModelCard)
            assert outcome["model_card"] == card.model_dump(mode="json")
            newest = max(versions, key=lambda v: v.number)
            assert (
                card.model_version == newest.name
                and training_run.name == (outcome["training_run_name"])
            )
            assert training_run.run_metadata["started_by_monitoring_run"] == result["run_id"]
            monitoring_run = Client().get_pipeline_run(result["run_id"])
            retrain_meta: Any = monitoring_run.run_metadata["retrain"]
            assert retrain_meta["training_run_id"] == str(training_run.id)
        else:
            assert result["retrain"]["started"] is False

    # What the monitor compared: the served model's logged probabilities, close to the production
    # model's own (the same model, or the stand-in's twin fitted on the same data)
    window = read_window(db, ROWS)
    expected = e2e_model.model.predict_proba(window[list(FEATURE_NAMES)])[:, 1]
    assert abs(window["churn_probability"].to_numpy() - expected).max() < 0.02
