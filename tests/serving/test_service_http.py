"""The real service over HTTP: contract shapes, exactness on the real data, bad input, metrics."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
import pandas as pd
import pytest
import requests
from scipy.special import logit

from bentos.scorer import LINEAR
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES, ID_COLUMN
from tests.fixtures.db_faults import break_inserts, count_rows, repair_inserts
from tests.fixtures.launcher import RunningService

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
JSON = {"content-type": "application/json"}


def post(service: RunningService, path: str, body: Any, **kw: Any) -> requests.Response:
    headers = {**service.headers, **kw.pop("headers", {})}
    return requests.post(f"{service.url}{path}", json=body, timeout=30, headers=headers, **kw)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame[[ID_COLUMN, *FEATURE_NAMES]].to_dict(orient="records")
    return json.loads(json.dumps(out))  # plain JSON types, as a client sends them


def test_predict_shape(service: RunningService, served_model: bentoml.Model) -> None:
    resp = post(service, "/predict", {"customer": EXAMPLE_RECORD})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {
        "churn_probability", "churn", "risk_band", "threshold", "model_version", "arm",
    }  # fmt: skip
    assert body["model_version"] == served_model.info.labels["zenml_version"]
    assert body["arm"] == "champion"  # no serving state: the embedded model, no experiment
    assert body["churn"] == (body["churn_probability"] >= body["threshold"])
    assert body["threshold"] == pytest.approx(float(served_model.info.labels["threshold"]))


def test_probabilities_match_the_pipeline_on_the_real_data(
    service: RunningService, served_model: bentoml.Model, serving_frame: pd.DataFrame
) -> None:
    pipeline = bentoml.sklearn.load_model(served_model)
    expected = pipeline.predict_proba(serving_frame[list(FEATURE_NAMES)])[:, 1]
    records = _records(serving_frame)
    got: list[float] = []
    for start in range(0, len(records), 1000):
        resp = post(service, "/predict_batch", {"customers": records[start : start + 1000]})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["model_version"] == served_model.info.labels["zenml_version"]
        got += [p["churn_probability"] for p in body["predictions"]]
    assert len(got) == len(expected)
    assert np.max(np.abs(np.array(got) - expected)) <= 1e-9
    for i in range(0, len(records), len(records) // 40):
        single = post(service, "/predict", {"customer": records[i]}).json()
        assert abs(single["churn_probability"] - expected[i]) <= 1e-9


def test_explain_is_exact_and_additive(service: RunningService) -> None:
    """The shipped model (linear with interactions) is explained by exact Shapley values in
    log-odds: base_value + contributions == logit(probability)."""
    resp = post(service, "/explain", {"customer": EXAMPLE_RECORD})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"churn_probability", "base_value", "method", "contributions"}
    assert body["method"] == LINEAR
    total = body["base_value"] + sum(c["contribution"] for c in body["contributions"])
    assert total == pytest.approx(float(logit(body["churn_probability"])), abs=1e-9)
    assert sorted(c["feature"] for c in body["contributions"]) == sorted(FEATURE_NAMES)
    sizes = [abs(c["contribution"]) for c in body["contributions"]]
    assert sizes == sorted(sizes, reverse=True)
    pred = post(service, "/predict", {"customer": EXAMPLE_RECORD}).json()
    assert body["churn_probability"] == pytest.approx(pred["churn_probability"], abs=1e-12)


def test_model_info_is_a_get_and_a_post(
    service: RunningService, served_model: bentoml.Model
) -> None:
    got = requests.get(f"{service.url}/model_info", timeout=10, headers=service.headers)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/json")
    posted = requests.post(
        f"{service.url}/model_info", json={}, timeout=10, headers=service.headers
    )
    assert posted.status_code == 200 and posted.json() == got.json()  # BentoML's clients POST
    put = requests.put(f"{service.url}/model_info", json={}, timeout=10, headers=service.headers)
    assert put.status_code == 405 and put.headers["allow"] == "GET, POST"
    assert put.json()["detail"][0]["loc"] == ["method"]
    info = got.json()
    assert set(info) == {
        "model_name", "model_version", "mlflow_run_id", "trained_at", "model_type",
        "threshold", "metrics", "candidates", "features", "bentoml_tag", "arm", "experiment",
    }  # fmt: skip
    assert info["arm"] == "champion" and info["experiment"] == {"mode": "none"}
    assert info["model_name"] == "telco_churn"
    assert info["model_version"] == served_model.info.labels["zenml_version"]
    assert info["mlflow_run_id"] == served_model.info.labels["mlflow_run_id"]
    assert [f["name"] for f in info["features"]] == list(FEATURE_NAMES)
    assert "roc_auc" in info["metrics"] and info["trained_at"]


def test_health_endpoints(service: RunningService) -> None:
    for path in ("/livez", "/readyz"):
        assert requests.get(f"{service.url}{path}", timeout=10).status_code == 200


def _with(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(EXAMPLE_RECORD)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return {"customer": record}


BAD_PREDICT = {
    "missing field": (_with(tenure=...), "tenure"),
    "unknown field": (_with(shoe_size=44), "shoe_size"),
    "wrong type": (_with(tenure="twelve"), "tenure"),
    "unknown category": (_with(Contract="Weekly"), "Contract"),
    "negative number": (_with(MonthlyCharges=-5), "MonthlyCharges"),
    "number too large": (_with(tenure=5000), "tenure"),
    "null value": (_with(gender=None), "gender"),
    "inconsistent fields": (_with(MultipleLines="Yes"), "MultipleLines"),
    "no customer": ({"client": EXAMPLE_RECORD}, "customer"),
    "body is a list": ([EXAMPLE_RECORD], ""),
}


def _assert_field_error(resp: requests.Response, field: str) -> None:
    assert 400 <= resp.status_code < 500, resp.text
    body = resp.json()
    assert isinstance(body["error"], str) and body["error"]
    assert body["detail"] and all({"loc", "msg"} <= set(d) for d in body["detail"])
    text = json.dumps(body["detail"])
    assert field in text, f"{field!r} not named in {text}"
    assert "Traceback" not in resp.text


@pytest.mark.parametrize("case", sorted(BAD_PREDICT))
def test_bad_single_record_is_a_field_level_4xx(service: RunningService, case: str) -> None:
    body, field = BAD_PREDICT[case]
    for path in ("/predict", "/explain"):
        _assert_field_error(post(service, path, body), field)


def test_bad_batches(service: RunningService) -> None:
    _assert_field_error(post(service, "/predict_batch", {"customers": []}), "customers")
    too_many = {"customers": [EXAMPLE_RECORD] * 1001}
    _assert_field_error(post(service, "/predict_batch", too_many), "customers")
    one_bad = {"customers": [EXAMPLE_RECORD, _with(SeniorCitizen=2)["customer"]]}
    resp = post(service, "/predict_batch", one_bad)
    _assert_field_error(resp, "SeniorCitizen")
    assert any(d["loc"][:2] == ["customers", 1] for d in resp.json()["detail"])


@pytest.mark.parametrize(
    ("data", "headers", "status", "field"),
    [
        (b'{"customer": ', JSON, 400, "Invalid JSON"),
        (b"", JSON, 400, "customer"),
        (b'{"customer": {"tenure": NaN}}', JSON, 400, "tenure"),
        (b"customer=1", {"content-type": "text/plain"}, 415, "content-type"),
        (b"--x\r\n", {"content-type": "multipart/form-data; boundary=x"}, 415, "content-type"),
        (b"{" + b" " * (5 * 1024 * 1024) + b"}", JSON, 413, "body"),
    ],
    ids=["truncated json", "empty body", "nan", "text", "multipart", "huge body"],
)
def test_malformed_requests(
    service: RunningService, data: bytes, headers: dict[str, str], status: int, field: str
) -> None:
    headers = {**service.headers, **headers}
    resp = requests.post(f"{service.url}/predict", data=data, headers=headers, timeout=30)
    assert resp.status_code == status, resp.text
    _assert_field_error(resp, field)


def test_chunked_huge_body_is_refused(service: RunningService) -> None:
    def chunks() -> Any:
        for _ in range(80):
            yield b" " * 65536

    headers = {**service.headers, **JSON}
    resp = requests.post(f"{service.url}/predict", data=chunks(), headers=headers, timeout=30)
    assert resp.status_code == 413
    _assert_field_error(resp, "body")


def test_wrong_method(service: RunningService) -> None:
    resp = requests.get(f"{service.url}/predict", timeout=10, headers=service.headers)
    assert resp.status_code == 405
    _assert_field_error(resp, "method")


def test_service_keeps_serving_after_bad_input(service: RunningService) -> None:
    assert post(service, "/predict", {"customer": EXAMPLE_RECORD}).status_code == 200
    assert requests.get(f"{service.url}/readyz", timeout=10).status_code == 200


def _metric_lines(service: RunningService) -> list[str]:
    text = requests.get(f"{service.url}/metrics", timeout=10).text
    return [line for line in text.splitlines() if not line.startswith("#")]


def _value(lines: list[str], prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def test_metrics_show_custom_and_batching_metrics(
    service: RunningService, served_model: bentoml.Model
) -> None:
    before = _value(_metric_lines(service), "churn_predictions_total")
    post(service, "/predict", {"customer": EXAMPLE_RECORD})
    post(service, "/predict_batch", {"customers": [EXAMPLE_RECORD] * 3})
    lines = _metric_lines(service)
    assert _value(lines, "churn_predictions_total") == before + 4
    version = served_model.info.labels["zenml_version"]
    assert any(
        line.startswith("churn_model_info{") and f'model_version="{version}"' in line
        for line in lines
    )
    for name in (
        "churn_probability_bucket",
        "churn_probability_count",
        "churn_model_trained_timestamp_seconds",
        "churn_prediction_log_backlog",
        "churn_prediction_log_written_total",
        "bentoml_service_request_duration_seconds_bucket",
        "bentoml_service_adaptive_batch_size_bucket",
    ):
        assert any(line.startswith(name) for line in lines), name
    assert _value(lines, "bentoml_service_adaptive_batch_size_count") >= 1


CONTRACT_BAD: dict[str, tuple[str, Any, str]] = {
    "predict: wrong type": ("/predict", _with(tenure="x"), "tenure"),
    "predict: unknown top-level key": ("/predict", {**_with(), "other": 1}, "other"),
    "explain: unknown category": ("/explain", _with(Contract="Weekly"), "Contract"),
    "small batch: bad record": (
        "/predict_batch", {"customers": [EXAMPLE_RECORD, _with(gender="?")["customer"]]}, "gender"
    ),
    "big batch: bad record": (
        "/predict_batch",
        {"customers": [EXAMPLE_RECORD] * 299 + [_with(tenure=-1)["customer"]]},
        "tenure",
    ),
    "outcomes: missing field": ("/outcomes", {"outcomes": [{"customerID": "A"}]}, "churned"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CONTRACT_BAD))
def test_every_route_refuses_in_our_error_contract(service: RunningService, case: str) -> None:
    """Our own shape and words on every route: `{"error", "detail": [{"loc", "msg"}]}` naming
    the field, no framework wording, no borrowed `server` header."""
    path, body, field = CONTRACT_BAD[case]
    resp = post(service, path, body)
    _assert_field_error(resp, field)
    got = resp.json()
    assert set(got) == {"error", "detail"}
    assert all(set(d) == {"loc", "msg"} for d in got["detail"])
    assert "validation error for" not in got["error"]  # pydantic's title, as BentoML words it
    assert "BentoML" not in resp.headers.get("server", "")


def test_huge_bad_bodies_name_their_first_problems(service: RunningService) -> None:
    unknown = {**EXAMPLE_RECORD, **{f"extra{i}": i for i in range(30_000)}}
    for path, body, first, total in (
        ("/predict", {"customer": unknown}, ["customer", "extra0"], 30_000),
        ("/predict_batch", {"customers": [_with(tenure="x")["customer"]] * 1000},
         ["customers", 0, "tenure"], 1000),
    ):  # fmt: skip
        resp = post(service, path, body)
        assert resp.status_code == 400, resp.text[:300]
        assert len(resp.content) < 8 * 1024
        got = resp.json()
        assert got["error"] == f"invalid request: {total} problems"
        assert got["detail"][0]["loc"] == first and got["detail"][0]["msg"]
        assert got["detail"][-1]["msg"].startswith(f"{total - 20} more errors not shown")


def test_no_redirect_carries_the_host_header(service: RunningService) -> None:
    for path in ("/predict/", "/model_info/", "/explain/"):
        resp = requests.post(
            f"{service.url}{path}",
            json={"customer": EXAMPLE_RECORD},
            headers={**service.headers, "Host": "evil.example"},
            allow_redirects=False,
            timeout=10,
        )
        assert "evil.example" not in resp.headers.get("location", ""), resp.headers
        assert "evil.example" not in resp.text
        if resp.is_redirect:
            assert resp.headers["location"].startswith("/")
    unknown = requests.get(f"{service.url}/no_such_route", headers=service.headers, timeout=10)
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["loc"] == ["path"]


def test_the_openapi_document_has_every_route_and_its_security(service: RunningService) -> None:
    closed = requests.get(f"{service.url}/docs.json", timeout=10)
    assert closed.status_code == 401  # closed by default: a token reads the document
    doc = requests.get(f"{service.url}/docs.json", timeout=10, headers=service.headers).json()
    scheme = doc["components"]["securitySchemes"]["bearerToken"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for path, method, scope in (
        ("/predict", "post", "predict"), ("/predict_batch", "post", "predict"),
        ("/explain", "post", "predict"), ("/model_info", "get", "predict"),
        ("/outcomes", "post", "admin"),
    ):  # fmt: skip
        op = doc["paths"][path][method]
        assert op["security"] == [{"bearerToken": []}] and op["x-churn-scope"] == scope, path
        assert op["responses"]["401"] and op["responses"]["403"]
    outcomes = doc["paths"]["/outcomes"]["post"]["requestBody"]["content"]["application/json"]
    body = doc["components"]["schemas"][outcomes["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "customerID" in body["properties"]["outcomes"]["items"]["properties"]
    assert doc["paths"]["/outcomes"]["post"]["responses"]["422"]


EXAMPLES: dict[str, dict[str, Any]] = {
    "predict": {"customer": EXAMPLE_RECORD},
    "predict_batch": {"customers": [EXAMPLE_RECORD, EXAMPLE_RECORD]},
    "explain": {"customer": EXAMPLE_RECORD},
    "model_info": {},
    "outcomes": {"outcomes": [{"customerID": "client-1", "churned": True}]},
    "predict_ids": {"customerIDs": ["NO-SUCH-ID"]},
}
"""A call for each declared route's handler (a new route without one fails the test below)."""


def test_bentoml_s_own_client_calls_every_declared_route(service: RunningService) -> None:
    """The contract test, read from the declarations (bentos/routes.py): each route is an
    endpoint of `bentoml.SyncHTTPClient`, answers its documented model, and needs its scope."""
    from bentos.service import ROUTES

    assert {r.handler for r in ROUTES} == set(EXAMPLES)
    with bentoml.SyncHTTPClient(service.url, token=service.token) as client:
        assert set(client.endpoints) >= set(EXAMPLES)
        for route in ROUTES:
            call = getattr(client, route.handler)
            if route.handler == "predict_ids":  # an empty feature store here: tests/serving/
                with pytest.raises(bentoml.exceptions.BentoMLException) as refused:  # test_by_id
                    call(**EXAMPLES[route.handler])
                assert refused.value.error_code == 404 and "NO-SUCH-ID" in str(refused.value)
                continue
            answer = call(**EXAMPLES[route.handler])
            assert route.response is not None
            route.response.model_validate(answer)  # the declared response model
            if route.handler == "predict_batch":
                assert len(answer["predictions"]) == 2
    for route in ROUTES:
        anonymous = requests.post(f"{service.url}{route.path}", json={}, timeout=10)
        assert anonymous.status_code == 401, route.path
        assert anonymous.headers["www-authenticate"].startswith("Bearer")


def _db(service: RunningService) -> str:
    return f"sqlite:///{service.log_path.with_suffix('.db')}"


def _wait_for_rows(url: str, n: int, timeout_s: float = 20.0) -> int:
    deadline = time.monotonic() + timeout_s
    while (got := count_rows(url)) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def _metric(service: RunningService, name: str, **labels: str) -> float:
    total = 0.0
    for line in _metric_lines(service):
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_our_answers_are_logged_and_counted_by_bentoml_and_us(
    service: RunningService, serving_frame: pd.DataFrame
) -> None:
    """Single records and a big batch (answered by our routes), a small one (the batcher)."""
    url = _db(service)
    ok = {"http_response_code": "200"}
    counted = {p: _metric(service, "bentoml_service_request_total", endpoint=p, **ok)
               for p in ("/predict", "/predict_batch")}  # fmt: skip
    predictions = _metric_lines(service)
    before = _value(predictions, "churn_predictions_total")
    assert _wait_for_rows(url, int(before)) == int(before)  # every prediction so far is logged
    records = _records(serving_frame.head(300))
    for record in records[:5]:
        assert post(service, "/predict", {"customer": record}).status_code == 200
    assert post(service, "/predict_batch", {"customers": records}).status_code == 200
    assert post(service, "/predict_batch", {"customers": records[:3]}).status_code == 200
    expected = int(before) + 5 + 300 + 3
    assert _wait_for_rows(url, expected) == expected
    after = {p: _metric(service, "bentoml_service_request_total", endpoint=p, **ok)
             for p in counted}  # fmt: skip
    assert [after[p] - counted[p] for p in counted] == [5, 2]  # the big one counted as sent
    assert _value(_metric_lines(service), "churn_predictions_total") == expected


def test_a_big_batch_skips_the_batcher_and_answers_the_same(
    service: RunningService, serving_frame: pd.DataFrame
) -> None:
    """A body of WHOLE_BODY_BYTES or more is a batch already: the guard hands it to the unbatched
    twin of /predict_batch (no wait in BentoML's dispatcher), which answers exactly what the
    batcher answers for the same records; the twin itself is not reachable from outside."""
    from bentos.middleware import WHOLE_BODY_BYTES

    records = _records(serving_frame.head(400))
    assert len(json.dumps({"customers": records})) >= WHOLE_BODY_BYTES
    batched = "bentoml_service_adaptive_batch_size_count"  # one per batch the batcher runs
    before = _value(_metric_lines(service), batched)
    whole = post(service, "/predict_batch", {"customers": records})
    assert whole.status_code == 200, whole.text
    assert _value(_metric_lines(service), batched) == before  # not through the batcher
    small = [
        post(service, "/predict_batch", {"customers": records[i : i + 20]})
        for i in range(0, len(records), 20)
    ]
    assert _value(_metric_lines(service), batched) >= before + 1  # these were
    assert len(json.dumps({"customers": records[:20]})) < WHOLE_BODY_BYTES  # the batcher's
    assert all(r.status_code == 200 for r in small)
    merged = [p for r in small for p in r.json()["predictions"]]
    answered = whole.json()["predictions"]
    assert [p["churn_probability"] for p in answered] == pytest.approx(
        [p["churn_probability"] for p in merged], abs=1e-12
    )
    assert [{**p, "churn_probability": 0} for p in answered] == [
        {**p, "churn_probability": 0} for p in merged
    ]
    outside = post(service, "/predict_batch/whole", {"customers": records[:2]})
    assert outside.status_code == 404 and outside.json()["error"] == "not found"


@pytest.mark.slow
def test_contract_fuzzing_finds_no_server_error(service: RunningService, session_dir: Path) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    cmd = [
        str(cli), "run", f"{service.url}/docs.json",
        "--checks", "not_a_server_error",
        "--max-examples", "10",
        "--seed", "42",
        "--request-timeout", "20",
        "--report", "junit",
        "--report-dir", str(session_dir / "fuzz"),
        "--header", f"Authorization: Bearer {service.token}",
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=500, cwd=session_dir)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "passed" in run.stdout and "/predict_batch" in run.stdout


def test_a_full_prediction_log_is_a_503_with_retry_after_in_our_contract(
    service: RunningService, serving_frame: pd.DataFrame
) -> None:
    """With inserts failing, the backlog (50,000 rows) fills; then our route refuses (last test
    of the module: the rows are written once inserts work again)."""
    url = _db(service)
    records = _records(serving_frame.head(1000))
    break_inserts(url)
    try:
        for size in (1000, 100, 10, 1):  # fill to the last row: a batch is refused whole
            for _ in range(60):
                if (
                    post(service, "/predict_batch", {"customers": records[:size]}).status_code
                    != 200
                ):
                    break
        resp = post(service, "/predict", {"customer": EXAMPLE_RECORD})
    finally:
        repair_inserts(url)
    assert resp.status_code == 503, resp.text
    assert resp.headers["retry-after"] == "1"
    got = resp.json()
    assert set(got) == {"error", "detail"} and "prediction log" in got["detail"][0]["msg"]
