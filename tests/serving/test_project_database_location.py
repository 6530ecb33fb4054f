"""Where the project database lives: one default for a checkout, a start-up error elsewhere.

A Bento served from the BentoML store runs inside its own copy, where the checkout's `.env` and
`data/` are not: `make serve` hands it the checkout's settings (`churn.serve_env`), and a Bento
copy that was told nothing stops at start naming `CHURN_PREDICTION_DB` instead of answering 500
to every request (issue #28). The Bento here is the one the suite's training built.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from churn.db.migrate import DatabaseLocationError, ensure_sqlite_folder
from churn.serve_env import serve_environment
from churn.settings import Settings
from tests.fixtures.launcher import own_bentoml_home
from tests.fixtures.ports import free_port
from tests.fixtures.training import TrainedModel

BENTOML = Path(sys.executable).with_name("bentoml")


def test_serve_environment_passes_dot_env_and_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHURN_CUSTOMER_ID_KEY", raising=False)
    monkeypatch.setenv("CHURN_AUTH_REFRESH_S", "7")
    env_file = tmp_path / ".env"
    env_file.write_text(
        "CHURN_API_TOKEN=secret-for-clients\n"
        "CHURN_CUSTOMER_ID_KEY='a key with spaces'\n"
        "CHURN_AUTH_REFRESH_S=9\n"
        "OTHER=x\n"
    )
    values = serve_environment(env_file)
    assert values["CHURN_CUSTOMER_ID_KEY"] == "a key with spaces"
    assert "CHURN_API_TOKEN" not in values  # the server checks digests, never needs the token
    assert "CHURN_AUTH_REFRESH_S" not in values  # the environment already says 7: it wins
    assert "OTHER" not in values
    assert values["CHURN_PREDICTION_DB"] == os.environ["CHURN_PREDICTION_DB"]


def test_the_checkout_default_is_its_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHURN_PREDICTION_DB")
    values = serve_environment(tmp_path / "no.env")
    repo = Path(__file__).resolve().parents[2]
    assert values["CHURN_PREDICTION_DB"] == f"sqlite:///{repo / 'data' / 'predictions.db'}"
    assert "prediction_db" not in Settings(_env_file=None).model_fields_set  # type: ignore[call-arg]


def test_a_missing_sqlite_folder_is_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "predictions.db"
    ensure_sqlite_folder(f"sqlite:///{target}")
    assert target.parent.is_dir()


def test_a_folder_that_cannot_be_made_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseLocationError, match=r"CHURN_PREDICTION_DB=sqlite:///.*file/db"):
        ensure_sqlite_folder(f"sqlite:///{blocker / 'db' / 'predictions.db'}")


def _serve_stored_bento(env: dict[str, str], log: Path) -> str:
    """`bentoml serve` of the stored Bento until it stops by itself; its output."""
    full = dict(env)
    full["BENTOML_HOME"] = own_bentoml_home(full, log)
    argv = [str(BENTOML), "serve", "churn_service:latest", "--host", "127.0.0.1"]
    with subprocess.Popen(
        [*argv, "--port", str(free_port())],
        env=full,
        cwd=log.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a server that kept running is stopped with its workers
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            pytest.fail("the server kept running:\n" + out.decode(errors="replace")[-3000:])
    return out.decode(errors="replace")


@pytest.mark.integration
def test_a_stored_bento_without_a_database_setting_stops_at_start(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CHURN_PREDICTION_DB"}
    output = _serve_stored_bento(env, tmp_path / "service.log")
    # it returned at all: the worker stopped the arbiter (`exit_on_fatal`), it did not serve 500s
    assert "FATAL: CHURN_PREDICTION_DB is not set" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.integration
def test_a_stored_bento_with_an_impossible_folder_stops_at_start(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {**os.environ, "CHURN_PREDICTION_DB": f"sqlite:///{blocker / 'data' / 'p.db'}"}
    output = _serve_stored_bento(env, tmp_path / "service.log")
    assert "FATAL: CHURN_PREDICTION_DB=sqlite:///" in output, output[-3000:]
    assert "cannot create the folder" in output, output[-3000:]
