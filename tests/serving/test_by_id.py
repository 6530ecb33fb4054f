"""Customers by ID through the served service (issue #33): the attributes from a real Redis online
store, the same answer as the full record, and every refusal in the contract's shape."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import requests

from churn.feature_store.ingest import ingest_file
from churn.feature_store.offline import materialize
from churn.schema import ID_COLUMN
from churn.settings import Settings
from tests.feature_store.conftest import records, write_extract
from tests.fixtures.launcher import RunningService, StartService
from tests.fixtures.ports import free_port
from tests.fixtures.redis import RedisServer, redis_server  # noqa: F401  (a session fixture)

FRESH = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
OLD = FRESH - dt.timedelta(hours=100)  # older than the default 48 hours


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    from churn.generator import generate

    return generate(30, seed=11)


@pytest.fixture(scope="module")
def store_env(
    redis_server: RedisServer,  # noqa: F811
    customers: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """30 customers in a Redis online store: 25 extracted an hour ago, 5 a hundred hours ago."""
    folder = tmp_path_factory.mktemp("features")
    env = {"CHURN_FEATURE_DIR": str(folder), "CHURN_FEATURE_ONLINE_STORE": redis_server.url(db=3)}
    settings = Settings(feature_dir=folder, feature_online_store=env["CHURN_FEATURE_ONLINE_STORE"])
    extracts = tmp_path_factory.mktemp("extracts")
    ingest_file(write_extract(extracts / "old.csv", customers.iloc[25:]), OLD, settings)
    ingest_file(write_extract(extracts / "new.csv", customers.iloc[:25]), FRESH, settings)
    materialize(settings)
    return env


@pytest.fixture(scope="module")
def by_id(start: StartService, store_env: dict[str, str]) -> RunningService:
    return start("by-id", **store_env)


def _post(service: RunningService, path: str, body: object) -> requests.Response:
    return requests.post(f"{service.url}{path}", json=body, headers=service.headers, timeout=30)


def test_a_customer_by_id_gets_the_full_records_answer(
    by_id: RunningService, customers: pd.DataFrame
) -> None:
    expected = records(customers)
    for cid in customers[ID_COLUMN].iloc[:3]:
        by_record = _post(by_id, "/predict", {"customer": expected[cid]})
        by_key = _post(by_id, "/predict", {"customerID": cid})
        assert by_record.status_code == by_key.status_code == 200, by_key.text
        got, want = by_key.json(), by_record.json()
        assert abs(got["churn_probability"] - want["churn_probability"]) <= 1e-9
        assert dt.datetime.fromisoformat(got.pop("features_as_of")) == FRESH
        got.pop("churn_probability"), want.pop("churn_probability")
        assert got == want
    explained = _post(by_id, "/explain", {"customerID": customers[ID_COLUMN].iloc[0]})
    full = _post(by_id, "/explain", {"customer": expected[customers[ID_COLUMN].iloc[0]]})
    assert explained.status_code == 200 and explained.json() == full.json()


def test_a_batch_of_ids_keeps_order_and_matches_the_batch_of_records(
    by_id: RunningService, customers: pd.DataFrame
) -> None:
    ids = customers[ID_COLUMN].iloc[:25].tolist()[::-1]
    expected = records(customers)
    by_key = _post(by_id, "/predict_ids", {"customerIDs": ids})
    by_record = _post(by_id, "/predict_batch", {"customers": [expected[i] for i in ids]})
    assert by_key.status_code == 200, by_key.text
    got = by_key.json()["predictions"]
    want = by_record.json()["predictions"]
    assert len(got) == len(want) == 25
    for g, w in zip(got, want, strict=True):
        assert abs(g["churn_probability"] - w["churn_probability"]) <= 1e-9
        assert dt.datetime.fromisoformat(g["features_as_of"]) == FRESH


def test_unknown_stale_and_malformed_ids_are_refused_by_name(
    by_id: RunningService, customers: pd.DataFrame
) -> None:
    unknown = _post(by_id, "/predict", {"customerID": "NO-SUCH-ID"})
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["loc"] == ["body", "customerID"]
    assert "NO-SUCH-ID" in unknown.json()["detail"][0]["msg"]
    some = _post(by_id, "/predict_ids", {"customerIDs": [customers[ID_COLUMN].iloc[0], "X-1"]})
    assert some.status_code == 404 and "X-1" in some.text
    stale_id = customers[ID_COLUMN].iloc[27]
    stale = _post(by_id, "/predict", {"customerID": stale_id})
    assert stale.status_code == 409
    assert stale_id in stale.text and "hours old" in stale.text
    both = _post(by_id, "/predict", {"customerID": "a", "customer": records(customers)[stale_id]})
    assert both.status_code == 400 and "exactly one" in both.text
    neither = _post(by_id, "/predict", {})
    assert neither.status_code == 400


def test_a_store_that_is_down_answers_503_with_retry_after(
    start: StartService,
    store_env: dict[str, str],
    customers: pd.DataFrame,
) -> None:
    down = start("by-id-down", **{**store_env, "CHURN_FEATURE_ONLINE_STORE": (
        f"redis://127.0.0.1:{free_port()}/0")})  # fmt: skip
    answer = _post(down, "/predict", {"customerID": customers[ID_COLUMN].iloc[0]})
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert "redis://127.0.0.1" in answer.text
    ok = _post(down, "/predict", {"customer": records(customers)[customers[ID_COLUMN].iloc[0]]})
    assert ok.status_code == 200  # the full-record path does not need the store


def test_bentoml_s_client_calls_the_by_id_routes(
    by_id: RunningService, customers: pd.DataFrame
) -> None:
    import bentoml

    ids = customers[ID_COLUMN].iloc[:2].tolist()
    with bentoml.SyncHTTPClient(by_id.url, token=by_id.token) as client:
        one = client.predict(customerID=ids[0])
        many = client.predict_ids(customerIDs=ids)
    assert 0 <= one["churn_probability"] <= 1  # the client reads /predict's declared model
    assert all("features_as_of" in p for p in many["predictions"])
    assert many["predictions"][0]["churn_probability"] == one["churn_probability"]
    assert len(many["predictions"]) == 2
