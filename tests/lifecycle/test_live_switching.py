"""Live model switching, shadow and A/B in a real `bentoml serve` (2 workers) on loopback.

Two promotable models (tests/fixtures/promotable.py) are in the session's BentoML store as
versions "1" and "2"; the serving state is written straight to the service's database, as
`churn model promote`, `churn rollback` and `churn experiment` do (their registry side is tested
in test_promote_by_hand.py and the end-to-end test).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
import pandas as pd
import pytest
import requests
import sqlalchemy as sa

from churn.db import serving_state
from churn.db.audit import recent
from churn.experiment import assign
from churn.privacy import customer_key
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES, ID_COLUMN
from tests.fixtures.launcher import RunningService, start_service
from tests.fixtures.predict_load import PredictLoad
from tests.fixtures.promotable import SHIPPED_FAMILY, reference_frame, save_candidate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

NAME = "telco_churn"
KEY = "test-customer-id-secret"
SWITCH_S = 30.0  # the bound for every worker to answer with the new model


@pytest.fixture(scope="module")
def models() -> dict[str, bentoml.Model]:
    frame = reference_frame()
    one = save_candidate(SHIPPED_FAMILY, frame.sample(frac=0.5, random_state=1), version="1")
    two = save_candidate(
        SHIPPED_FAMILY, frame.sample(frac=0.5, random_state=2), version="2", threshold=0.5
    )
    return {"1": one, "2": two}


@pytest.fixture(scope="module")
def db_url(session_dir: Path) -> str:
    return f"sqlite:///{session_dir / f'live-{os.getpid()}.db'}"


def _set(db_url: str, state: serving_state.ServingState) -> None:
    serving_state.change(state, NAME, None, db_url)


def _production(models: dict[str, bentoml.Model], version: str) -> serving_state.ServingState:
    return serving_state.ServingState(NAME, str(models[version].tag), version)


@pytest.fixture(scope="module")
def service(
    models: dict[str, bentoml.Model], db_url: str, session_dir: Path
) -> Iterator[RunningService]:
    # the store's latest is "2"; the serving state names "1" before the service starts
    _set(db_url, _production(models, "1"))
    running = start_service(
        env={
            "CHURN_PREDICTION_DB": db_url,
            "CHURN_SERVICE_WORKERS": "2",
            "CHURN_CUSTOMER_ID_KEY": KEY,
        },
        log_path=session_dir / f"live-{os.getpid()}.log",
    )
    try:
        yield running
    finally:
        running.stop()


def test_a_worker_on_the_default_poll_serves_a_promotion_within_about_a_second(
    models: dict[str, bentoml.Model], tmp_path: Path
) -> None:
    """The handover with no CHURN_MODEL_POLL_S: the worker's thread reads the row each second
    (the old default, 5 s, took up to 5 s plus the load), loads the new tag from the store off
    the request path and swaps its snapshot."""
    from bentos.live_model import LiveModel
    from bentos.model_loader import load, load_tag
    from tests.fixtures.postgres import migrated

    assert "CHURN_MODEL_POLL_S" not in os.environ
    url = migrated(f"sqlite:///{tmp_path / 'handover.db'}")
    _set(url, _production(models, "1"))
    live = LiveModel(load(models["1"]), lambda: serving_state.read(NAME, url), load_tag)
    live.refresh()
    assert live.snapshot.champion.card.model_version == "1"
    started = time.monotonic()
    load_tag(str(models["2"].tag))  # what the switch itself costs, timed alone
    load_s = time.monotonic() - started
    live.start()
    try:
        time.sleep(0.2)
        _set(url, _production(models, "2"))
        promoted = time.monotonic()
        while live.snapshot.champion.card.model_version != "2":
            assert time.monotonic() - promoted < 15, "the worker did not switch"
            time.sleep(0.02)
        handover = time.monotonic() - promoted
    finally:
        live.stop()
    print(f"handover {handover:.2f} s (model load alone {load_s:.2f} s)")
    assert handover < 1.0 + load_s + 1.0, f"{handover:.2f} s: more than one poll plus the load"


def _predict(service: RunningService, record: dict[str, Any]) -> dict[str, Any]:
    resp = requests.post(
        f"{service.url}/predict", json={"customer": record}, headers=service.headers, timeout=30
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _wait_all(service: RunningService, accept: Callable[[dict[str, Any]], bool]) -> float:
    """Seconds until 40 answers in a row (both workers) pass `accept`; fails after SWITCH_S."""
    start = time.monotonic()
    streak = 0
    while streak < 40:
        assert time.monotonic() - start < SWITCH_S, "the service did not switch within 30 s"
        streak = streak + 1 if accept(_predict(service, EXAMPLE_RECORD)) else 0
    return time.monotonic() - start


def _switches(service: RunningService) -> float:
    """`churn_model_switches_total` summed over the workers (BentoML's multiprocess registry)."""
    text = requests.get(f"{service.url}/metrics", headers=service.headers, timeout=10).text
    lines = [line for line in text.splitlines() if line.startswith("churn_model_switches_total")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def _wait_every_worker(service: RunningService, before: float, workers: int = 2) -> None:
    """Until each worker has counted one more switch than `before` (the sum of all workers')."""
    deadline = time.monotonic() + SWITCH_S
    while (now := _switches(service)) < before + workers:
        assert time.monotonic() < deadline, f"{now - before:.0f} of {workers} workers switched"
        time.sleep(0.3)


def test_the_serving_state_at_start_wins_over_the_embedded_model(
    service: RunningService, models: dict[str, bentoml.Model]
) -> None:
    info = requests.get(f"{service.url}/model_info", headers=service.headers, timeout=10).json()
    assert info["model_version"] == "1" and info["bentoml_tag"] == str(models["1"].tag)
    assert _predict(service, EXAMPLE_RECORD)["model_version"] == "1"


def test_five_switches_under_load_fail_no_request(
    service: RunningService, models: dict[str, bentoml.Model], db_url: str
) -> None:
    with PredictLoad(service, lambda uid: {**EXAMPLE_RECORD, ID_COLUMN: f"load-{uid}"}) as load:
        time.sleep(2)
        since = datetime.now(UTC)
        for target in ("2", "1", "2", "1", "2"):
            before = _switches(service)
            _set(db_url, _production(models, target))
            _wait_all(service, lambda body, t=target: body["model_version"] == t)
            _wait_every_worker(service, before)
        time.sleep(1)
    statuses = Counter(status for status, _ in load.results)
    versions = Counter(version for _, version in load.results)
    assert statuses == {200: len(load.results)}, statuses
    assert set(versions) == {"1", "2"}, versions  # every answer came from one of the two
    assert len(load.results) > 100
    switches = [  # newest first
        e for e in recent(1000, db_url)
        if e.action == "switch" and e.created_at and e.created_at >= since
    ]  # fmt: skip
    assert [e.to_version for e in switches] == ["2", "1", "2", "1", "2"]  # one row per switch
    assert {(e.actor.split("/")[-1], e.source) for e in switches} == {("churn_service", "service")}


def _log_rows(db_url: str, where: str = "1=1") -> list[dict[str, Any]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT * FROM prediction_log WHERE {where}")).mappings()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def test_shadow_scores_off_the_response_path_and_logs_the_challenger(
    service: RunningService, models: dict[str, bentoml.Model], db_url: str
) -> None:
    shadow = serving_state.ServingState(
        NAME, str(models["2"].tag), "2", "shadow", str(models["1"].tag), "1", 1.0, "s"
    )
    _set(db_url, shadow)
    _wait_all(service, lambda _b: _model_info(service)["experiment"]["mode"] == "shadow")
    ids = [f"shadow-{i}" for i in range(12)]
    bodies = [_predict(service, {**EXAMPLE_RECORD, ID_COLUMN: c}) for c in ids]
    assert {(b["model_version"], b["arm"]) for b in bodies} == {("2", "champion")}
    keys = {customer_key(c, KEY) for c in ids}
    deadline = time.monotonic() + 30
    while True:
        rows = [r for r in _log_rows(db_url) if r[ID_COLUMN] in keys]
        if len(rows) >= 2 * len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    served = {r["request_id"]: r for r in rows if r["served"]}
    shadows = [r for r in rows if not r["served"]]
    assert len(served) == len(ids) and len(shadows) == len(ids)
    expected = bentoml.sklearn.load_model(models["1"]).predict_proba(
        pd.DataFrame([EXAMPLE_RECORD])[list(FEATURE_NAMES)]
    )[0, 1]
    for row in shadows:
        assert (row["arm"], row["model_version"]) == ("challenger", "1")
        twin = served[row["request_id"].removesuffix(":c")]
        assert (twin["arm"], twin["model_version"], twin[ID_COLUMN]) == (
            "champion",
            "2",
            row[ID_COLUMN],
        )
        assert row["churn_probability"] == pytest.approx(expected, abs=1e-9)
    assert not any(r[ID_COLUMN] in ids for r in _log_rows(db_url))  # raw IDs are never stored


def _model_info(service: RunningService) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(
        f"{service.url}/model_info", headers=service.headers, timeout=10
    ).json()
    return body


def test_ab_assigns_each_customer_by_salted_hash(
    service: RunningService, models: dict[str, bentoml.Model], db_url: str
) -> None:
    ab = serving_state.ServingState(
        NAME, str(models["2"].tag), "2", "ab", str(models["1"].tag), "1", 0.5, "ab-salt"
    )
    _set(db_url, ab)
    _wait_all(service, lambda _b: _model_info(service)["experiment"]["mode"] == "ab")
    ids = [f"ab-{i}" for i in range(30)]
    for customer in ids:
        expected_arm = assign(customer, "ab-salt", 0.5)
        for _ in range(2):  # the same customer gets the same arm every time
            body = _predict(service, {**EXAMPLE_RECORD, ID_COLUMN: customer})
            assert body["arm"] == expected_arm
            assert body["model_version"] == ("1" if expected_arm == "challenger" else "2")
    no_id = {k: v for k, v in EXAMPLE_RECORD.items() if k != ID_COLUMN}
    assert _predict(service, no_id)["arm"] == "champion"
    batch = requests.post(
        f"{service.url}/predict_batch",
        json={"customers": [{**EXAMPLE_RECORD, ID_COLUMN: c} for c in ids]},
        headers=service.headers,
        timeout=30,
    ).json()["predictions"]
    assert [p["arm"] for p in batch] == [assign(c, "ab-salt", 0.5) for c in ids]
    assert {p["arm"] for p in batch} == {"champion", "challenger"}


def test_a_model_that_cannot_load_keeps_the_old_one_and_is_counted(
    service: RunningService, models: dict[str, bentoml.Model], db_url: str
) -> None:
    _set(db_url, serving_state.ServingState(NAME, f"{NAME}:nosuchmodel00000", "9"))
    time.sleep(4)  # several polls by each worker
    bodies = [_predict(service, EXAMPLE_RECORD) for _ in range(20)]
    assert {b["model_version"] for b in bodies} == {"2"}
    metrics = requests.get(f"{service.url}/metrics", headers=service.headers, timeout=10).text
    errors = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("churn_model_load_errors_total")
    )
    assert errors >= 2
    _set(db_url, _production(models, "1"))
    _wait_all(service, lambda body: body["model_version"] == "1")


def test_outcomes_are_mounted_beside_model_info_and_join_by_the_same_key(
    service: RunningService, db_url: str
) -> None:
    url = f"{service.url}/outcomes"
    customer = "outcome-join-1"
    _predict(service, {**EXAMPLE_RECORD, ID_COLUMN: customer})
    body = {"outcomes": [{"customerID": customer, "churned": True}]}
    resp = requests.post(url, json=body, headers=service.headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["stored"] == 1
    bad = requests.post(
        url, json={"outcomes": [{"churned": "maybe"}]}, headers=service.headers, timeout=30
    )
    assert bad.status_code == 422 and "outcomes" in json.dumps(bad.json()["detail"])
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text('SELECT "customerID" FROM outcomes')).scalars().all()
    finally:
        engine.dispose()
    logged = {r[ID_COLUMN] for r in _log_rows(db_url)}
    assert stored == [customer_key(customer, KEY)] and stored[0] in logged
