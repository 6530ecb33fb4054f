"""The monitoring side of the prediction log on a real PostgreSQL server, as well as on SQLite.

The rows are written by the service's own writer (`bentos.prediction_log.PredictionLog`, the
Alembic-migrated table, `created_at` as the service stamps it: an aware UTC instant). The
time-zone question: PostgreSQL compares and returns `timestamptz` values in the session's
`TimeZone`, which follows the server's or the database's setting, not UTC. The databases below
are set to zones on both sides of UTC, so a window computed with a naive "now minus H hours"
would keep rows it should drop (east of UTC) or drop every row (west of UTC).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from bentos.prediction_log import PredictionLog
from churn.cli import main
from churn.generator import generate
from churn.monitoring.window import read_window
from churn.schema import FEATURE_NAMES, ID_COLUMN
from tests.fixtures.postgres import PostgresServer, migrated
from tests.monitoring.conftest import MonitoredModel, WriteConfig

# zones on both sides of UTC, one of them with a half-hour offset
ZONES = ("UTC", "America/New_York", "Asia/Kolkata")


def log_rows(
    url: str,
    customers: pd.DataFrame,
    created_at: datetime,
    version: str,
    probabilities: list[float] | None = None,
) -> None:
    """Write one row per customer through the service's prediction-log writer."""
    records = json.loads(customers[[*FEATURE_NAMES, ID_COLUMN]].to_json(orient="records"))
    probs = probabilities or [0.3] * len(records)
    rows = [
        {
            **record,
            "request_id": uuid.uuid4().hex,
            "created_at": created_at + timedelta(milliseconds=i),
            "model_version": version,
            "churn_probability": float(p),
            "churn": p >= 0.5,
        }
        for i, (record, p) in enumerate(zip(records, probs, strict=True))
    ]
    log = PredictionLog(url)
    try:
        log.append(rows)
    finally:
        log.close(grace_s=30)
    assert log.written == len(rows) and log.dropped == 0, log.status()


def pg_database(server: PostgresServer, zone: str) -> str:
    """A fresh, migrated database whose sessions default to `zone`; its URL as a user writes it."""
    name = server.create_database()
    server.psql(f"ALTER DATABASE {name} SET timezone TO '{zone}'")
    assert server.psql("SHOW timezone", database=name) == zone
    return migrated(server.url(name))  # the deployment's migration job, before the service logs


@pytest.fixture(params=["sqlite", *(f"postgresql:{zone}" for zone in ZONES)])
def log_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], str]:  # a factory: PostgreSQL starts only for its cases
    def make() -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / 'predictions.db'}"
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return pg_database(server, request.param.split(":", 1)[1])

    return make


def as_utc(value: object) -> pd.Timestamp:
    """SQLite hands back the naive UTC wall clock as text; PostgreSQL an aware instant."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)


def test_time_window_and_timestamps_on_each_backend(log_url: Callable[[], str]) -> None:
    url = log_url()
    now = datetime.now(UTC)
    old_at, new_at = now - timedelta(hours=5), now - timedelta(minutes=5)
    log_rows(url, generate(10, seed=1), old_at, "old")
    log_rows(url, generate(7, seed=2), new_at, "new")

    recent = read_window(url, 1000, hours=1)
    assert len(recent) == 7
    assert (recent["model_version"] == "new").all()
    assert abs(as_utc(recent["created_at"].iloc[0]) - new_at) < timedelta(seconds=1)

    everything = read_window(url, 1000)
    assert len(everything) == 17
    assert everything["id"].is_monotonic_increasing
    assert list(everything["model_version"]) == ["old"] * 10 + ["new"] * 7
    assert abs(as_utc(everything["created_at"].iloc[0]) - old_at) < timedelta(seconds=1)
    reference = generate(5, seed=3)
    for name in FEATURE_NAMES:
        assert everything[name].dtype == reference[name].dtype, name

    # a window that reaches back past the old rows sees them again
    assert len(read_window(url, 1000, hours=6)) == 17
    assert len(read_window(url, 5, hours=6)) == 5


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_churn_monitor_reads_the_service_log_from_postgres(
    postgres_server: PostgresServer,
    stub_production_model: MonitoredModel,
    write_config: WriteConfig,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """`churn monitor` (steps/monitoring/load.py) on a PostgreSQL log west of UTC: the window of
    the last hour holds exactly the drifted rows the service logged, not the older ones."""
    url = pg_database(postgres_server, "America/New_York")
    now = datetime.now(UTC)
    old = generate(300, seed=40)
    log_rows(url, old, now - timedelta(hours=5), stub_production_model.version)
    live = generate(1200, seed=41, drift="contract_shift")
    probs = stub_production_model.model.predict_proba(live[list(FEATURE_NAMES)])[:, 1]
    log_rows(url, live, now - timedelta(minutes=2), stub_production_model.version, list(probs))
    config = write_config(
        model_name=stub_production_model.name,
        prediction_db=url,
        window_rows=5000,
        window_hours=1,
        min_rows=500,
        reference_max_rows=3000,
    )
    assert main(["monitor", "--config", str(config)]) == 0
    out, _ = capfd.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["n_rows"] == 1200
    assert result["drift_detected"] is True, result
    assert "Contract" in result["drifted_features"]
