"""Serving fixtures: a churn model in the isolated BentoML store and the real service on loopback.

`served_model` fits a LogisticRegression pipeline on the real data (synthetic when absent) the way
the training pipeline does. With `CHURN_SERVING_MODEL=trained` it uses the pipeline-trained model
instead (the `trained_model` fixture of the `tests.fixtures.training` plugin).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import bentoml
import pandas as pd
import pytest
from serving_models import save_model

from bentos.launcher import RunningService, start_service
from churn.data import load_clean
from churn.generator import generate

REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "telco_customer_churn.csv"
StartService = Callable[..., RunningService]


@pytest.fixture(scope="session")
def serving_frame() -> pd.DataFrame:
    """The real IBM data when present, else the synthetic default."""
    return load_clean(REAL_DATA) if REAL_DATA.exists() else generate(6000, seed=3)


@pytest.fixture(scope="session")
def served_model(request: pytest.FixtureRequest, serving_frame: pd.DataFrame) -> bentoml.Model:
    """The model the service will load as `telco_churn:latest`."""
    if os.environ.get("CHURN_SERVING_MODEL") == "trained":
        trained = request.getfixturevalue("trained_model")
        return bentoml.models.get(trained.bento_model_tag)
    return save_model(serving_frame)


def _start(session_dir: Path, name: str, **env: str) -> RunningService:
    db = f"sqlite:///{session_dir / f'{name}.db'}"
    full_env = {"CHURN_PREDICTION_DB": db, "CHURN_SERVICE_WORKERS": "1", **env}
    return start_service(env=full_env, log_path=session_dir / f"{name}.log")


@pytest.fixture(scope="module")
def service(served_model: bentoml.Model, session_dir: Path) -> Iterator[RunningService]:
    """One real `bentoml serve` per test module (1 worker), stopped gracefully."""
    running = _start(session_dir, f"service-{os.getpid()}-{len(os.listdir(session_dir))}")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def start(served_model: bentoml.Model, session_dir: Path) -> Iterator[StartService]:
    """Factory for services with their own settings; all are stopped at module end."""
    started: list[RunningService] = []

    def _factory(name: str, **env: str) -> RunningService:
        running = _start(session_dir, name, **env)
        started.append(running)
        return running

    yield _factory
    for running in started:
        running.stop()
