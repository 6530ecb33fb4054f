"""Both ways in: `POST /outcomes` through a real uvicorn server on loopback, and
`churn outcomes import` through the CLI, each on its own temporary database."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from churn.cli import main
from churn.db.outcomes import engine_for, read
from tests.fixtures.http import wait_for_http
from tests.fixtures.ports import free_port

REPO = Path(__file__).resolve().parents[2]
WHEN = "2026-11-20T08:00:00Z"


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("select count(*) from outcomes")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of uvicorn serving the view with CHURN_PREDICTION_DB in tmp;
    one server for the module (each start imports the stack: slow on a loaded machine)."""
    tmp_path = tmp_path_factory.mktemp("outcomes-api")
    db = f"sqlite:///{tmp_path / 'project.db'}"
    engine_for(db).dispose()  # migrated, as the service's start leaves it
    port = free_port()
    log = tmp_path / "uvicorn.log"
    env = {**os.environ, "CHURN_PREDICTION_DB": db, "CHURN_CUSTOMER_ID_KEY": "k1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.monitoring.outcomes_app:app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/outcomes", 180, expect_status=405, process=proc, log=log)
        yield base, db
    finally:
        proc.terminate()
        proc.wait(timeout=120)


def test_post_outcomes_validates_stores_and_counts(server: tuple[str, str]) -> None:
    base, db = server
    url = f"{base}/outcomes"
    items = [{"customerID": f"C{i}", "churned": i % 3 == 0, "observed_at": WHEN} for i in range(50)]
    first = requests.post(url, json={"outcomes": items}, timeout=120)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 50, "stored": 50, "duplicates": 0}
    again = requests.post(url, json={"outcomes": [*items[:10], {"customerID": "N"}]}, timeout=120)
    assert again.status_code == 422
    body = again.json()
    assert body["detail"] == [{"loc": ["body", "outcomes", 10, "churned"], "msg": "Field required"}]
    assert "none stored" in body["error"]
    assert _count(db) == 50
    repeat = requests.post(url, json={"outcomes": items[:10]}, timeout=120)
    assert repeat.json() == {"received": 10, "stored": 0, "duplicates": 10}

    engine = engine_for(db)
    stored = read(engine)
    engine.dispose()
    assert not (set(stored["customerID"]) & {i["customerID"] for i in items})  # keyed, not raw
    assert (stored["observed_at"] == dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)).all()


@pytest.mark.parametrize(
    ("data", "headers", "status", "loc"),
    [
        ("{not json", {"content-type": "application/json"}, 400, ["body"]),
        ("<x/>", {"content-type": "application/xml"}, 415, ["header", "content-type"]),
        (
            json.dumps({"outcomes": []}),
            {"content-type": "application/json"},
            422,
            ["body", "outcomes"],
        ),
        (json.dumps([1]), {"content-type": "application/json"}, 422, ["body"]),
    ],
)
def test_bad_requests_get_json_errors_naming_the_field(
    server: tuple[str, str], data: str, headers: dict[str, str], status: int, loc: list[str]
) -> None:
    base, db = server
    before = _count(db)
    response = requests.post(f"{base}/outcomes", data=data, headers=headers, timeout=120)
    assert response.status_code == status, response.text
    assert _count(db) == before
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["detail"][0]["loc"] == loc and body["detail"][0]["msg"]


def test_cli_import_is_all_or_nothing_and_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'project.db'}"
    good = tmp_path / "good.csv"
    good.write_text("customerID,Churn,observed_at\nA,Yes,2026-11-01\nB,No,2026-11-02T10:00:00Z\n")
    assert main(["outcomes", "import", str(good), "--db", db]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"file": str(good), "received": 2, "stored": 2, "duplicates": 0}
    assert "stored 2 new outcome(s)" in err
    assert main(["outcomes", "import", str(good), "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == 2

    bad = tmp_path / "bad.csv"
    bad.write_text("customerID,Churn\nC,Yes\nD,perhaps\n")
    assert main(["outcomes", "import", str(bad), "--db", db]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "nothing stored" in err and "line 3.Churn: must be Yes or No, got 'perhaps'" in err
    assert _count(db) == 2

    assert main(["outcomes", "import", str(tmp_path / "missing.csv"), "--db", db]) == 2
    assert "no such file" in capsys.readouterr().err
