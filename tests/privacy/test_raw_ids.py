"""No raw customer ID outside the erasable store.

- a real service scores a customer with a known raw ID (keyed, as deployed), the outcome for that
  customer is imported, the customer is erased with `churn privacy erase`; then no file the run
  wrote (the database and its journal, the service's log and its BentoML home, the CLI's output)
  holds the raw ID;
- a failed statement's error names no parameter (SQLAlchemy's hide_parameters);
- the Flask UI's batch files are swept on a timer, with no request to trigger it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from churn.cli import main
from churn.db.engine import make_engine
from churn.privacy import customer_key
from churn.schema import EXAMPLE_RECORD
from churn.settings import get_settings
from frontends.flask_app.batch_store import BatchStore
from tests.fixtures.launcher import StartService
from tests.serving.conftest import served_model, serving_frame, start

__all__ = ["served_model", "serving_frame", "start"]  # the serving suite's fixtures

pytestmark = [pytest.mark.integration]
KEY = "raw-id-test-key"
RAW = "4242-ERASEME"


@pytest.fixture()
def keyed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHURN_CUSTOMER_ID_KEY", KEY)
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CHURN_CUSTOMER_ID_KEY")
    get_settings.cache_clear()


def holding(roots: list[Path], needle: str) -> list[str]:
    """Every file under `roots` (symlinks not followed) whose bytes contain `needle`."""
    found = []
    for root in roots:
        paths = [root] if root.is_file() else []
        for folder, _, files in os.walk(root):
            paths += [Path(folder) / f for f in files]
        for path in paths:
            if not path.is_symlink() and needle.encode() in path.read_bytes():
                found.append(str(path))
    return found


def _stored(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text('SELECT count(*) FROM prediction_log WHERE "customerID" = :k'),
                    {"k": customer_key(RAW, KEY)},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_after_erase_no_file_the_run_wrote_holds_the_raw_id(
    start: StartService,
    session_dir: Path,
    tmp_path: Path,
    keyed: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = f"erase-grep-{os.getpid()}"
    service = start(name, CHURN_CUSTOMER_ID_KEY=KEY)
    db = f"sqlite:///{session_dir / f'{name}.db'}"
    got = requests.post(
        f"{service.url}/predict",
        json={"customer": {**EXAMPLE_RECORD, "customerID": RAW}},
        headers=service.headers,
        timeout=30,
    )
    assert got.status_code == 200, got.text
    deadline = time.monotonic() + 30
    while _stored(db) == 0 and time.monotonic() < deadline:  # the log writer is asynchronous
        time.sleep(0.2)
    assert _stored(db) == 1  # the prediction reached the store, keyed

    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text(f"customerID,Churn\n{RAW},Yes\n")
    assert holding([tmp_path], RAW) == [str(outcomes)]  # the grep bites
    assert main(["outcomes", "import", str(outcomes), "--db", db]) == 0
    outcomes.unlink()  # the operator's input, not the platform's
    assert main(["privacy", "erase", RAW, "--reason", "ticket 9", "--db", db]) == 0
    out = capsys.readouterr()
    assert service.stop() == 0  # its log flushed and closed

    written = [p for p in session_dir.iterdir() if p.name.startswith(name)]
    assert any(p.suffix == ".db" for p in written) and any(p.suffix == ".log" for p in written)
    assert holding([*written, tmp_path], RAW) == []
    assert RAW not in out.out + out.err
    assert _stored(db) == 0


def test_a_failed_statement_names_no_parameter(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id TEXT PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO t VALUES (:id)"), {"id": RAW})
        with pytest.raises(sa.exc.IntegrityError) as failed, engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (:id)"), {"id": RAW})
    finally:
        engine.dispose()
    assert "UNIQUE constraint failed" in str(failed.value)
    assert RAW not in str(failed.value)


def test_batch_files_are_swept_on_a_timer_without_a_request(tmp_path: Path) -> None:
    store = BatchStore(tmp_path / "batches", ttl_s=1)
    token = store.save(f"customerID,churn\n{RAW},1\n")
    path = store.path(token)
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    deadline = time.monotonic() + 30
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not path.exists()
    assert store.path(token) is None
