"""Tokens and scopes on the live service (bentos/auth.py via bentos/middleware.py), over HTTP."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from churn.db import tokens
from churn.schema import EXAMPLE_RECORD
from tests.fixtures.launcher import RunningService

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REFRESH_S = 1.0
ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/predict", {"customer": EXAMPLE_RECORD}),
    ("POST", "/predict_batch", {"customers": [EXAMPLE_RECORD]}),
    ("POST", "/explain", {"customer": EXAMPLE_RECORD}),
    ("GET", "/model_info", None),
]


@pytest.fixture(scope="module")
def guarded(start: Callable[..., RunningService]) -> RunningService:
    """One worker, tokens reloaded every second, /metrics behind a token too."""
    return start(
        f"auth-{os.getpid()}",
        CHURN_AUTH_REFRESH_S=str(REFRESH_S),
        CHURN_METRICS_AUTH="on",
    )


def _db(service: RunningService) -> str:
    """The service's own database (tests/serving/conftest.py names it after its log)."""
    return f"sqlite:///{service.log_path.with_suffix('.db')}"


def call(
    service: RunningService, method: str, path: str, body: Any, headers: dict[str, str] | None
) -> requests.Response:
    return requests.request(
        method, f"{service.url}{path}", json=body, headers=headers or {}, timeout=30
    )


def _denied(resp: requests.Response, status: int, error: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["www-authenticate"].startswith('Bearer realm="churn"')
    body = resp.json()
    assert body["error"] == error
    assert body["detail"][0]["loc"] == ["header", "authorization"]
    assert "Traceback" not in resp.text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[r[1] for r in ROUTES])
def test_every_prediction_route_needs_a_token(
    guarded: RunningService, method: str, path: str, body: Any
) -> None:
    _denied(call(guarded, method, path, body, None), 401, "unauthorized")
    bad = call(guarded, method, path, body, bearer("churn_not-a-real-token"))
    _denied(bad, 401, "unauthorized")
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    basic = call(guarded, method, path, body, {"Authorization": "Basic YWRtaW46YWRtaW4="})
    _denied(basic, 401, "unauthorized")


def test_a_predict_token_predicts_but_is_forbidden_admin_routes(guarded: RunningService) -> None:
    token = tokens.create("predict-only", "predict", actor="tests", url=_db(guarded))
    time.sleep(REFRESH_S * 2 + 0.5)
    for method, path, body in ROUTES:
        resp = call(guarded, method, path, body, bearer(token))
        assert resp.status_code == 200, (path, resp.text)
    outcome = {"customerID": "7590-VHVEG", "churned": True}
    forbidden = call(guarded, "POST", "/outcomes", outcome, bearer(token))
    _denied(forbidden, 403, "forbidden")
    assert 'error="insufficient_scope", scope="admin"' in forbidden.headers["www-authenticate"]
    for path in ("/admin", "/admin/reload", "/admin/../admin/x"):
        _denied(call(guarded, "POST", path, {}, bearer(token)), 403, "forbidden")
    # the admin token of the fixture passes the check (the route itself may not exist yet)
    assert call(guarded, "POST", "/admin/reload", {}, guarded.headers).status_code not in (401, 403)


def test_health_is_open_and_metrics_follow_the_setting(guarded: RunningService) -> None:
    for path in ("/readyz", "/livez"):
        assert requests.get(f"{guarded.url}{path}", timeout=10).status_code == 200
    _denied(requests.get(f"{guarded.url}/metrics", timeout=10), 401, "unauthorized")
    metrics = requests.get(f"{guarded.url}/metrics", timeout=10, headers=guarded.headers)
    assert metrics.status_code == 200 and "churn_predictions_total" in metrics.text


def test_a_revoked_token_stops_working_within_the_refresh_bound(guarded: RunningService) -> None:
    db = _db(guarded)
    token = tokens.create("short-lived", "predict", actor="tests", url=db)
    deadline = time.monotonic() + REFRESH_S * 2 + 5
    while call(guarded, "GET", "/model_info", None, bearer(token)).status_code != 200:
        assert time.monotonic() < deadline, "a new token was not picked up within the bound"
        time.sleep(0.2)
    tokens.revoke("short-lived", actor="tests", url=db)
    revoked_at = time.monotonic()
    time.sleep(REFRESH_S * 2 + 0.5)  # one reload interval plus the reload itself, twice over
    _denied(call(guarded, "GET", "/model_info", None, bearer(token)), 401, "unauthorized")
    assert time.monotonic() - revoked_at < REFRESH_S * 2 + 5


def test_auth_off_is_explicit_and_warns(start: Callable[..., RunningService]) -> None:
    open_service = start(f"auth-off-{os.getpid()}", CHURN_AUTH="off")
    resp = call(open_service, "POST", "/predict", {"customer": EXAMPLE_RECORD}, None)
    assert resp.status_code == 200, resp.text
    log = open_service.log_tail(200_000)
    assert "WARNING" in log and "CHURN_AUTH=off" in log
