"""The Flask UI through its test client, against the real churn service on loopback.

Every page needs a signed-in user: `_app` makes one user per role in a temporary database and
`_sign_in` signs a test client in (analyst unless told).
"""

from __future__ import annotations

import csv
import io
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from churn.generator import generate, to_csv_text
from churn.schema import EXAMPLE_RECORD
from frontends.flask_app import ConfigError, create_app
from frontends.flask_app.auth import ROLES

PASSWORDS = {role: f"{role}-pass-phrase" for role in ROLES}

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _app(url: str, tmp: Path, **overrides: Any) -> Flask:
    config: dict[str, Any] = {
        "SECRET_KEY": "test-secret",
        "SERVICE_URL": url,
        "WTF_CSRF_ENABLED": False,
        "BATCH_DIR": tmp / "batches",
        "RATE_LIMIT": "1000 per minute",
        "SERVICE_RETRIES": 1,
        "USERS_DB": f"sqlite:///{tmp / 'users.db'}",
    }
    config.update(overrides)
    app = create_app(config)
    store = app.extensions["churn_users"]
    for role in ROLES:
        if store.get(role) is None:
            store.add(role, PASSWORDS[role], role)
    return app


def _sign_in(app: Flask, role: str = "analyst") -> FlaskClient:
    """A test client signed in as the user named after `role` (CSRF tokens sent when enabled)."""
    client = app.test_client()
    data = {"name": role, "password": PASSWORDS[role]}
    if app.config.get("WTF_CSRF_ENABLED", True):
        page = client.get("/login").get_data(as_text=True)
        data["csrf_token"] = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', page
        ).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture()
def client(service_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    yield _sign_in(_app(service_url, tmp_path))


@pytest.fixture()
def down_client(dead_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    yield _sign_in(_app(dead_url, tmp_path))


def _text(response: Any) -> str:
    text: str = response.get_data(as_text=True)
    assert "Traceback" not in text
    return text


def _field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'class="field-error" data-field="(\w+)">([^<]*)<', html))


def test_home_shows_ready_service_and_model_metrics(client: FlaskClient) -> None:
    html = _text(client.get("/"))
    assert 'id="service-status">ready<' in html
    assert 'id="model-version">7<' in html
    assert "roc_auc" in html


def test_score_form_has_every_schema_field_with_ranges(client: FlaskClient) -> None:
    html = _text(client.get("/score"))
    from churn.schema import FEATURES

    for feat in FEATURES:
        assert f'name="{feat.name}"' in html, feat.name
    assert re.search(r'name="tenure"[^>]*max="120"', html) or re.search(
        r'max="120"[^>]*name="tenure"', html
    )
    assert "<select" in html


def test_valid_form_shows_probability_decision_band_and_drivers(client: FlaskClient) -> None:
    response = client.post("/score", data=EXAMPLE_RECORD)
    html = _text(response)
    assert response.status_code == 200
    probability = float(re.search(r'id="probability">([\d.]+)%', html).group(1))  # type: ignore[union-attr]
    assert 0 < probability < 100
    assert re.search(r'id="risk-band">(low|medium|high) risk', html)
    assert re.search(r'id="decision">will (churn|stay)', html)
    assert html.count("<rect") >= 5  # the drivers bar chart


def test_invalid_form_puts_messages_beside_the_fields(client: FlaskClient) -> None:
    data = {**EXAMPLE_RECORD, "tenure": "500", "MonthlyCharges": "abc", "MultipleLines": "Yes"}
    response = client.post("/score", data=data)
    html = _text(response)
    assert response.status_code == 400
    errors = _field_errors(html)
    assert "between 0 and 120" in errors["tenure"]
    assert "MonthlyCharges" in errors
    assert "PhoneService" in errors["MultipleLines"]
    assert 'value="500"' in html  # the user's input is kept


def test_csrf_is_enforced_when_enabled(service_url: str, tmp_path: Path) -> None:
    app = _app(service_url, tmp_path, WTF_CSRF_ENABLED=True)
    response = _sign_in(app).post("/score", data=EXAMPLE_RECORD)
    assert response.status_code == 400
    assert "security token" in _text(response)


def _bad_rows_csv() -> tuple[bytes, int]:
    text = to_csv_text(generate(40, seed=11))
    rows = list(csv.DictReader(io.StringIO(text)))
    rows[3]["tenure"] = "-1"
    rows[10]["Contract"] = "Forever"
    rows[20]["InternetService"] = "No"  # add-ons still say Yes/No: inconsistent
    rows[20]["OnlineSecurity"] = "Yes"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(), len(rows)


def test_batch_scores_good_rows_lists_bad_ones_and_downloads(client: FlaskClient) -> None:
    data, n_rows = _bad_rows_csv()
    response = client.post(
        "/batch",
        data={"file": (io.BytesIO(data), "customers.csv")},
        content_type="multipart/form-data",
    )
    html = _text(response)
    assert response.status_code == 200
    assert f"<strong>{n_rows - 3}</strong> customers scored" in html
    problems = re.findall(r"<tr><td>(\d+)</td><td>[^<]*</td><td>([^<]*)</td></tr>", html)
    assert {line for line, _ in problems} == {"5", "12", "22"}
    assert any("tenure" in reason for _, reason in problems)
    link = re.search(r'id="download-link" href="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    download = client.get(link)
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    scored = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert len(scored) == n_rows - 3
    probs = [float(r["churn_probability"]) for r in scored]
    assert probs == sorted(probs, reverse=True)
    assert {r["risk_band"] for r in scored} <= {"low", "medium", "high"}


def test_batch_rejects_a_non_csv_and_a_file_without_the_columns(client: FlaskClient) -> None:
    response = client.post(
        "/batch",
        data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "missing columns" in _field_errors(_text(response))["file"]
    response = client.post(
        "/batch",
        data={"file": (io.BytesIO(b"hello"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "only .csv" in _text(response)


def test_upload_size_is_limited(service_url: str, tmp_path: Path) -> None:
    app = _app(service_url, tmp_path, MAX_CONTENT_LENGTH=10_000)
    big = to_csv_text(generate(200, seed=1)).encode()
    response = _sign_in(app).post(
        "/batch", data={"file": (io.BytesIO(big), "big.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert "larger than the limit" in _text(response)


def test_unknown_download_token_is_a_404(client: FlaskClient) -> None:
    assert client.get("/batch/not-a-real-token-at-all-xx.csv").status_code == 404


def test_model_page_lists_metrics_candidates_and_schema(client: FlaskClient) -> None:
    html = _text(client.get("/model"))
    assert "hist_gradient_boosting" in html
    assert "0.400" in html  # threshold
    assert "PaymentMethod" in html


def test_service_down_gives_friendly_503_and_the_app_keeps_running(
    down_client: FlaskClient,
) -> None:
    response = down_client.post("/score", data=EXAMPLE_RECORD)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    html = _text(response)
    assert "scoring service is unavailable" in html
    assert down_client.get("/model").status_code == 503
    home = down_client.get("/")
    assert home.status_code == 200
    assert 'id="service-status">not ready<' in _text(home)
    assert down_client.get("/healthz").get_json() == {
        "status": "ok",
        "service_ready": False,
        "home": "/",
    }


def test_hung_service_gives_503_after_the_timeout(tmp_path: Path) -> None:
    """A server that accepts connections but never answers (a hung service)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
        url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        app = _app(url, tmp_path, SERVICE_TIMEOUT_S=0.5)
        signed_in = _sign_in(app)
        started = time.monotonic()
        response = signed_in.post("/score", data=EXAMPLE_RECORD)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "did not answer within 0.5 s" in _text(response)
    assert elapsed < 5  # no retry on a read timeout


def test_scoring_is_rate_limited(service_url: str, tmp_path: Path) -> None:
    app = _app(service_url, tmp_path, RATE_LIMIT="2 per minute")
    client = _sign_in(app)
    statuses = [client.post("/score", data=EXAMPLE_RECORD).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert "too fast" in _text(client.post("/score", data=EXAMPLE_RECORD))
    assert client.get("/score").status_code == 200  # only POSTs are limited


def test_metrics_count_requests_latency_and_service_calls(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # single-process mode, as a UI worker without gunicorn runs: Feast, imported by a pipeline
    # run on a stack with the feature-store component elsewhere in this pytest process, sets
    # PROMETHEUS_MULTIPROC_DIR at import (churn's own Feast imports restore it)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    counted = (
        ("churn_flask_requests_total", {"endpoint": "ui.score", "status": "200"}),
        ("churn_flask_requests_total", {"endpoint": "unmatched", "status": "404"}),
        ("churn_flask_service_calls_total", {"endpoint": "predict", "outcome": "ok"}),
        ("churn_flask_service_calls_total", {"endpoint": "explain", "outcome": "ok"}),
    )
    # the counters live in the process's registry: another test's app in this pytest process may
    # have counted before, so each is read before and after (one request, one more)
    before = _samples(client.get("/metrics").get_data(as_text=True))
    client.post("/score", data=EXAMPLE_RECORD)
    client.get("/nope")
    text = client.get("/metrics").get_data(as_text=True)
    after = _samples(text)
    for name, labels in counted:
        key = (name, tuple(sorted(labels.items())))
        assert after.get(key, 0.0) - before.get(key, 0.0) == 1.0, (
            key,
            before.get(key),
            after.get(key),
        )
    assert "churn_flask_request_duration_seconds_bucket" in text


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_unexpected_errors_never_show_a_traceback(service_url: str, tmp_path: Path) -> None:
    app = _app(service_url, tmp_path)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = _sign_in(app).get("/boom")
    assert response.status_code == 500
    html = _text(response)
    assert "secret internals" not in html
    assert "Something went wrong" in html


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_production_mode_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setenv("CHURN_UI_ENV", "production")
    with pytest.raises(ConfigError, match="FLASK_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("FLASK_SECRET_KEY", "x" * 32)
    assert create_app().config["SECRET_KEY"] == "x" * 32
