"""Fixtures: the real BentoML churn service on a free loopback port, and a dead URL.

The service is started once per session with `bentoml serve bentos.service:ChurnService` against a
model saved into the session's isolated BENTOML_HOME (set by tests/conftest.py).
`CHURN_TEST_SERVICE_DIR` may point at another checkout's working dir holding `bentos/`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import frontend_servers as servers
import pytest

from tests.fixtures.http import wait_for_http
from tests.fixtures.launcher import own_bentoml_home, service_token

SERVICE_CLASS = "bentos.service:ChurnService"
STARTUP_TIMEOUT_S = 180


def _service_dir() -> Path:
    return Path(os.environ.get("CHURN_TEST_SERVICE_DIR", str(servers.REPO_ROOT)))


@pytest.fixture(scope="session")
def service_url(session_dir: Path) -> Iterator[str]:
    """URL of a running churn service (real BentoML, loopback).

    `CHURN_TEST_SERVICE_URL` reuses a service already started by hand (for quick local iteration;
    it must serve `frontend_servers.save_test_model()`'s model).
    """
    running = os.environ.get("CHURN_TEST_SERVICE_URL")
    if running:
        yield running
        return
    workdir = _service_dir()
    if not (workdir / "bentos" / "service.py").is_file():
        pytest.skip(f"no bentos/service.py in {workdir} yet (the serving part is not merged)")
    servers.save_test_model()
    port = servers.free_port()
    # The service gets a database of its own: a serving state that another test's training wrote
    # in the session's database (tests/campaigns runs first) would make it serve that model, not
    # the test model. An admin token there: every client in this process (Settings().api_token)
    # and every frontend server started from it picks it up.
    service_db = f"sqlite:///{session_dir / f'frontends-service-{port}.db'}"
    token = service_token(service_db, f"frontend-tests-{port}")
    assert token, "could not create the service token in the service's database"
    patch = pytest.MonkeyPatch()
    patch.setenv("CHURN_API_TOKEN", token)
    log = session_dir / f"bentoml-{port}.log"
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    proc = servers.start(
        [bentoml, "serve", SERVICE_CLASS, "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        log=log,
        env={"BENTOML_HOME": own_bentoml_home(os.environ, log), "CHURN_PREDICTION_DB": service_db},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/readyz", STARTUP_TIMEOUT_S, process=proc, log=log)
        yield url
    finally:
        servers.stop(proc)
        patch.undo()


@pytest.fixture(scope="session")
def service_headers(service_url: str) -> dict[str, str]:
    """The bearer token header for direct calls to `service_url`."""
    token = os.environ.get("CHURN_API_TOKEN", "")
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="session")
def dead_url() -> str:
    """A loopback URL where nothing listens: the service is down."""
    return f"http://127.0.0.1:{servers.free_port()}"
