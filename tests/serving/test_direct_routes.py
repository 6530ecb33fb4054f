"""The guard's direct answers (bentos/direct.py) equal BentoML's dispatch, byte for byte.

Two real services on the same model: the shipped one (`CHURN_DIRECT_PREDICT=on`, the default)
and one with `CHURN_DIRECT_PREDICT=off`, where every request goes through BentoML's routing,
endpoint wrapper and serde. The same requests, good and bad, must get the same status and the
same body from both; direct answers must still be logged and counted by BentoML's request
metrics and ours.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES, ID_COLUMN
from tests.fixtures.db_faults import break_inserts, count_rows, repair_inserts
from tests.fixtures.launcher import RunningService, StartService

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BIG = 300
"""Records in a batch over the shipped `CHURN_BATCH_DIRECT_RECORDS` (256): answered directly."""
BACKLOG = 400
"""The pair's prediction-log backlog bound, so the last test can fill it quickly."""


@pytest.fixture(scope="module")
def pair(start: StartService) -> Iterator[tuple[RunningService, RunningService]]:
    backlog = {"CHURN_PREDICTION_LOG_MAX_BACKLOG": str(BACKLOG)}
    direct = start("direct-on", **backlog)
    dispatched = start("direct-off", CHURN_DIRECT_PREDICT="off", **backlog)
    yield direct, dispatched


def send(service: RunningService, path: str, raw: bytes, **headers: str) -> requests.Response:
    all_headers = {"content-type": "application/json", **service.headers, **headers}
    return requests.post(f"{service.url}{path}", data=raw, headers=all_headers, timeout=30)


def records(frame: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    out = frame[[ID_COLUMN, *FEATURE_NAMES]].head(n).to_dict(orient="records")
    return json.loads(json.dumps(out))


def _customer(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(EXAMPLE_RECORD)
    record.update(changes)
    return record


def _without(field: str) -> dict[str, Any]:
    record = copy.deepcopy(EXAMPLE_RECORD)
    del record[field]
    return record


def _dumps(body: Any) -> bytes:
    return json.dumps(body).encode()


EXAMPLE = json.dumps(EXAMPLE_RECORD)
BAD_SINGLE: dict[str, bytes] = {
    "empty body": b"",
    "empty object": b"{}",
    "invalid JSON": b'{"customer": {',
    "top-level list": b"[]",
    "customer not an object": _dumps({"customer": 3}),
    "missing field": _dumps({"customer": _without("tenure")}),
    "tenure as a string": _dumps({"customer": _customer(tenure="12")}),
    "tenure as a float": _dumps({"customer": _customer(tenure=12.5)}),
    "negative charges": _dumps({"customer": _customer(MonthlyCharges=-1)}),
    "unknown category": _dumps({"customer": _customer(Contract="Weekly")}),
    "unknown field": _dumps({"customer": _customer(favourite_colour="teal")}),
    "inconsistent services": _dumps(
        {"customer": _customer(PhoneService="No", MultipleLines="Yes")}
    ),
    "NaN literal": f'{{"customer": {EXAMPLE[:-1]}, "TotalCharges": NaN}}}}'.encode(),
    "every field wrong": _dumps({"customer": {f: [] for f in FEATURE_NAMES}}),
    "duplicate key": f'{{"customer": {EXAMPLE}, "customer": {EXAMPLE}}}'.encode(),
}


def _same(a: requests.Response, b: requests.Response) -> None:
    assert (a.status_code, a.content) == (b.status_code, b.content)
    assert a.headers["content-type"] == b.headers["content-type"] == "application/json"
    assert a.headers.get("retry-after") == b.headers.get("retry-after")


@pytest.mark.parametrize("case", list(BAD_SINGLE))
def test_bad_single_requests_get_the_same_answer(
    pair: tuple[RunningService, RunningService], case: str
) -> None:
    direct, dispatched = pair
    a = send(direct, "/predict", BAD_SINGLE[case])
    b = send(dispatched, "/predict", BAD_SINGLE[case])
    assert 400 <= a.status_code < 500, a.text
    _same(a, b)
    body = a.json()
    assert set(body) == {"error", "detail"} and body["detail"], body


def test_an_unknown_top_level_key_is_ignored_by_both(
    pair: tuple[RunningService, RunningService],
) -> None:
    """BentoML's input model ignores keys beside `customer`; the direct path must too."""
    direct, dispatched = pair
    raw = _dumps({"customer": EXAMPLE_RECORD, "other": 1})
    a, b = send(direct, "/predict", raw), send(dispatched, "/predict", raw)
    assert a.status_code == 200, a.text
    _same(a, b)


def test_good_requests_get_the_same_bytes(
    pair: tuple[RunningService, RunningService], serving_frame: pd.DataFrame
) -> None:
    direct, dispatched = pair
    for record in records(serving_frame, 40):
        raw = _dumps({"customer": record})
        a, b = send(direct, "/predict", raw), send(dispatched, "/predict", raw)
        assert a.status_code == 200, a.text
        _same(a, b)
    assert a.headers["server"] == b.headers["server"] == "BentoML Service/churn_service"


@pytest.mark.parametrize("n", [1, 20, BIG])
def test_batches_get_the_same_predictions(
    pair: tuple[RunningService, RunningService], serving_frame: pd.DataFrame, n: int
) -> None:
    """A big batch is answered directly on one service and by BentoML's batcher on the other."""
    direct, dispatched = pair
    raw = _dumps({"customers": records(serving_frame, n)})
    a, b = send(direct, "/predict_batch", raw), send(dispatched, "/predict_batch", raw)
    assert a.status_code == 200, a.text
    _same(a, b)
    assert len(a.json()["predictions"]) == n


def test_a_bad_big_batch_gets_the_same_answer(
    pair: tuple[RunningService, RunningService], serving_frame: pd.DataFrame
) -> None:
    direct, dispatched = pair
    rows = records(serving_frame, BIG)
    rows[7]["tenure"] = "x"
    rows[250]["gender"] = "?"
    raw = _dumps({"customers": rows})
    a, b = send(direct, "/predict_batch", raw), send(dispatched, "/predict_batch", raw)
    assert a.status_code == 400
    _same(a, b)
    assert {tuple(d["loc"][:2]) for d in a.json()["detail"]} == {
        ("customers", 7),
        ("customers", 250),
    }


def _metric(service: RunningService, name: str, **labels: str) -> float:
    text = requests.get(f"{service.url}/metrics", headers=service.headers, timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _wait_for_rows(url: str, n: int, timeout_s: float = 20.0) -> int:
    deadline = time.monotonic() + timeout_s
    while (got := count_rows(url)) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def _db(service: RunningService, session_dir: Path) -> str:
    """The service's prediction database (tests/serving/conftest.py names it after the log)."""
    return f"sqlite:///{session_dir / f'{service.log_path.stem}.db'}"


def test_direct_answers_are_logged_and_counted(
    pair: tuple[RunningService, RunningService], session_dir: Path, serving_frame: pd.DataFrame
) -> None:
    service = pair[0]
    url = _db(service, session_dir)
    ok = {"http_response_code": "200"}
    single_before = _metric(service, "bentoml_service_request_total", endpoint="/predict", **ok)
    batch_before = _metric(
        service, "bentoml_service_request_total", endpoint="/predict_batch", **ok
    )
    predictions_before = _metric(service, "churn_predictions_total")
    rows_before = int(predictions_before)  # earlier tests' rows: every prediction is logged
    assert _wait_for_rows(url, rows_before) == rows_before
    for record in records(serving_frame, 5):
        assert send(service, "/predict", _dumps({"customer": record})).status_code == 200
    big = send(service, "/predict_batch", _dumps({"customers": records(serving_frame, BIG)}))
    assert big.status_code == 200
    assert _wait_for_rows(url, rows_before + 5 + BIG) == rows_before + 5 + BIG
    single = _metric(service, "bentoml_service_request_total", endpoint="/predict", **ok)
    batch = _metric(service, "bentoml_service_request_total", endpoint="/predict_batch", **ok)
    assert (single - single_before, batch - batch_before) == (5, 1)
    assert _metric(service, "churn_predictions_total") - predictions_before == 5 + BIG


def test_a_full_log_gets_the_same_503(
    pair: tuple[RunningService, RunningService], session_dir: Path, serving_frame: pd.DataFrame
) -> None:
    """With inserts failing, both paths refuse alike once the backlog (BACKLOG rows) is full."""
    answers: list[requests.Response] = []
    raw = _dumps({"customer": EXAMPLE_RECORD})
    for service in pair:
        url = _db(service, session_dir)
        break_inserts(url)
        try:
            batch = _dumps({"customers": records(serving_frame, BIG)})
            assert send(service, "/predict_batch", batch).status_code == 200
            for _ in range(BACKLOG):
                resp = send(service, "/predict", raw)
                if resp.status_code != 200:
                    break
            answers.append(resp)
        finally:
            repair_inserts(url)
    a, b = answers
    assert a.status_code == 503, a.text
    _same(a, b)
    assert a.headers["retry-after"] == "1"
