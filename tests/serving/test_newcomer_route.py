"""The route recipe (docs/ARCHITECTURE.md, "Add a route") makes a working, authorized,
documented route: a service built by following it (tests/serving/newcomer_service.py) answers
BentoML's own client, refuses without a token and without the declared scope, and documents the
route with its scope, from the one declaration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bentoml
import pytest
import requests

from churn.db.tokens import create as create_token
from tests.fixtures.launcher import RunningService, start_service

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def newcomer(session_dir: Path) -> Iterator[tuple[RunningService, str]]:
    """The served newcomer service, and a `predict` token it knows from its start."""
    db = f"sqlite:///{session_dir / 'newcomer.db'}"
    predict = create_token("newcomer-predict", "predict", actor="tests", url=db)
    service = start_service(
        {"CHURN_PREDICTION_DB": db}, target="tests.serving.newcomer_service:NewcomerService"
    )
    try:
        yield service, predict
    finally:
        service.stop()


def test_the_recipe_gives_a_working_authorized_documented_route(
    newcomer: tuple[RunningService, str],
) -> None:
    service, predict = newcomer
    assert service.token  # an admin token, made by the launcher in the service's database
    with bentoml.SyncHTTPClient(service.url, token=service.token) as client:
        assert client.greet(name="Ada") == {"greeting": "hello Ada"}
    url = f"{service.url}/greet"
    assert requests.post(url, json={"name": "Ada"}, timeout=10).status_code == 401
    refused = requests.post(
        url, json={"name": "Ada"}, timeout=10, headers={"Authorization": f"Bearer {predict}"}
    )
    assert refused.status_code == 403, refused.text  # the declared scope is admin
    bad = requests.post(url, json={"name": "Ada", "x": 1}, timeout=10, headers=service.headers)
    assert bad.status_code == 400
    assert bad.json()["detail"][0] == {"loc": ["x"], "msg": "unknown field: not part of the schema"}
    doc = requests.get(f"{service.url}/docs.json", timeout=10, headers=service.headers).json()
    op = doc["paths"]["/greet"]["post"]
    assert op["x-churn-scope"] == "admin" and op["security"] == [{"bearerToken": []}]
    assert op["operationId"] == "greet" and op["responses"]["403"]
