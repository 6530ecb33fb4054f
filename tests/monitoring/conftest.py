"""Monitoring fixtures: a production model version to monitor, run configs, a fresh prediction log.

`production_model` uses the shared `trained_model` fixture (tests/fixtures/training.py) when it is
installed, and otherwise a stand-in registered by `production_stub` under its own model name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml


@dataclass(frozen=True)
class MonitoredModel:
    name: str
    version: str
    model: Any  # the sklearn pipeline, to log realistic probabilities


@pytest.fixture(scope="session")
def stub_production_model() -> MonitoredModel:
    from zenml.client import Client

    from tests.monitoring.production_stub import register_production_model

    name = "telco_churn_monitoring_stub"
    version = register_production_model(name)
    artifact = Client().get_model_version(name, version).get_artifact("churn_model")
    assert artifact is not None, "the stand-in must store its model"
    return MonitoredModel(name, version, artifact.load())


WriteConfig = Callable[..., Path]


@pytest.fixture()
def write_config(tmp_path: Path) -> WriteConfig:
    """A run config like configs/monitoring.yaml with some keys overridden."""

    def _write(**overrides: Any) -> Path:
        path = tmp_path / f"monitoring-{len(list(tmp_path.glob('monitoring-*.yaml')))}.yaml"
        config = {"reports_dir": str(tmp_path / "reports"), **overrides}
        path.write_text(yaml.safe_dump({"enable_cache": False, "parameters": {"config": config}}))
        return path

    return _write
