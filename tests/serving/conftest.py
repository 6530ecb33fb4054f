"""Serving fixtures: a churn model in the isolated BentoML store and the real service on loopback.

`served_model` is the family `make run` ships on the real data (logistic regression with
interactions), built by the pipeline's own candidate factory (tests/fixtures/promotable.py) on the
real data (synthetic when absent). `CHURN_SERVING_FAMILY` serves another family;
`CHURN_SERVING_MODEL=trained` the pipeline-trained model (`tests.fixtures.training`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import bentoml
import pandas as pd
import pytest

from tests.fixtures.launcher import RunningService, StartService, start_service
from tests.fixtures.promotable import SHIPPED_FAMILY, reference_frame, save_candidate


@pytest.fixture(scope="session")
def serving_frame() -> pd.DataFrame:
    """The real IBM data when present, else the synthetic default."""
    return reference_frame()


@pytest.fixture(scope="session")
def served_model(request: pytest.FixtureRequest, serving_frame: pd.DataFrame) -> bentoml.Model:
    """The model the service will load as `telco_churn:latest`."""
    if os.environ.get("CHURN_SERVING_MODEL") == "trained":
        trained = request.getfixturevalue("trained_model")
        return bentoml.models.get(trained.bento_model_tag)
    family = os.environ.get("CHURN_SERVING_FAMILY", SHIPPED_FAMILY)
    return save_candidate(family, serving_frame)


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
