"""A database that refuses at start stops `bentoml serve` (2 workers) with a message naming
CHURN_PREDICTION_DB, instead of workers restarting forever behind a hanging /readyz; a shared
PostgreSQL database without CHURN_CUSTOMER_ID_KEY stops the real service the same way, and so does
one its migration job has not run on (the service never migrates a shared database)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import bentoml
import pytest
import sqlalchemy as sa

from tests.fixtures.launcher import start_service
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_a_refusing_database_stops_the_server_naming_the_setting(tmp_path: Path) -> None:
    url = f"postgresql://churn:hidden@127.0.0.1:{free_port()}/churn"
    log_path = tmp_path / "serve.log"
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"readyz exited with"):
        start_service(
            env={"CHURN_PREDICTION_DB": url},
            log_path=log_path,
            timeout=240,
            target="tests.serving.fatal_log_service:FatalLogProbe",
        )
    elapsed = time.monotonic() - started
    text = log_path.read_text(errors="replace")
    assert "FATAL: CHURN_PREDICTION_DB=postgresql://churn:***@127.0.0.1" in text
    assert "cannot connect" in text
    assert "hidden" not in text
    print(f"bentoml serve stopped {elapsed:.1f} s after start (shared machine)")


def test_postgresql_without_a_customer_key_stops_the_service_at_start(
    tmp_path: Path, postgres_url: str, served_model: bentoml.Model
) -> None:
    """Raw customer IDs in a deployment's database only on purpose (churn.control.privacy)."""
    assert not {"CHURN_CUSTOMER_ID_KEY", "CHURN_ALLOW_RAW_CUSTOMER_IDS"} & set(os.environ)
    log_path = tmp_path / "serve.log"
    with pytest.raises(RuntimeError, match=r"readyz exited with"):
        start_service(env={"CHURN_PREDICTION_DB": postgres_url}, log_path=log_path, timeout=240)
    text = log_path.read_text(errors="replace")
    assert "FATAL: CHURN_CUSTOMER_ID_KEY is not set and CHURN_PREDICTION_DB is PostgreSQL" in text
    assert "CHURN_ALLOW_RAW_CUSTOMER_IDS=true" in text


def test_an_unmigrated_postgresql_database_stops_the_service_naming_the_migrate_command(
    tmp_path: Path, postgres_url: str, served_model: bentoml.Model
) -> None:
    """Migrations only by `churn db migrate`: the service checks the schema, never changes it."""
    log_path = tmp_path / "serve.log"
    env = {"CHURN_PREDICTION_DB": postgres_url, "CHURN_CUSTOMER_ID_KEY": "unmigrated-test-key"}
    with pytest.raises(RuntimeError, match=r"readyz exited with"):
        start_service(env=env, log_path=log_path, timeout=240, migrate=False)
    text = log_path.read_text(errors="replace")
    assert "FATAL: CHURN_PREDICTION_DB=postgresql://" in text
    assert "revision none (empty)" in text and "run `churn db migrate`" in text
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        assert sa.inspect(engine).get_table_names() == []  # nothing was migrated behind our back
    finally:
        engine.dispose()
