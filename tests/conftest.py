"""Shared fixtures.

Every test session gets its own ZenML, MLflow, BentoML and prediction-log stores under a
temporary folder, so tests never touch a developer's state and parallel runs don't collide.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

# prometheus_client picks single- or multi-process values once, when first imported: first here,
# before any test imports Feast (directly or through ZenML's feature-store component), whose import
# sets PROMETHEUS_MULTIPROC_DIR; imported after that, every metric of the process would share one
# slot per name (the Flask UI's counters of two apps adding up)
import prometheus_client  # noqa: F401
import pytest

from churn.settings import Settings

pytest_plugins = [
    "tests.fixtures.training",
    "tests.fixtures.postgres",
    "tests.fixtures.state_guard",
    "tests.fixtures.skip_policy",
    "tests.fixtures.background",
]

REAL_DATA = Settings().real_data  # not get_settings(): its cache must see the test stores below

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="churn-tests-"))
os.environ["ZENML_CONFIG_PATH"] = str(_SESSION_DIR / "zenml")
# ZenML writes the active stack into the repository's `.zen/config.yaml`; the tests get their own
# repository marker, so the checkout's stays the user's (the source tree is imported as usual).
(_SESSION_DIR / "repo" / ".zen").mkdir(parents=True)
os.environ["ZENML_REPOSITORY_PATH"] = str(_SESSION_DIR / "repo")
os.environ["BENTOML_HOME"] = str(_SESSION_DIR / "bentoml")
os.environ["CHURN_MLFLOW_TRACKING_URI"] = f"sqlite:///{_SESSION_DIR / 'mlruns.db'}"
os.environ["CHURN_PREDICTION_DB"] = f"sqlite:///{_SESSION_DIR / 'predictions.db'}"
os.environ["CHURN_REPORTS_DIR"] = str(_SESSION_DIR / "reports")
os.environ["CHURN_FEATURE_DIR"] = str(_SESSION_DIR / "features")  # the embedded feature store
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    """The public IBM Telco data (`CHURN_REAL_DATA`); a skip without it fails unless allowed."""
    if not REAL_DATA.exists():
        pytest.skip(f"real data not present at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def real_frame(real_data_path: Path) -> pd.DataFrame:
    from churn.data import load_clean

    return load_clean(real_data_path)


@pytest.fixture(scope="session")
def synthetic_frame() -> pd.DataFrame:
    from churn.generator import generate

    return generate(7043, seed=1)


@pytest.fixture()
def workdir(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
