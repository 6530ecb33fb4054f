"""Alembic migrations of the project's database, on SQLite and a real PostgreSQL server.

The key promise: a prediction log written by the service before migrations existed (its table
made by `metadata.create_all`) upgrades to the newest revision without losing or changing a row
(by the service itself on a user's SQLite file; on a server, only by `churn db migrate`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bentos.prediction_log import PredictionLog, PredictionLogConfigError
from churn.db import HEAD, current_revision, upgrade
from churn.db.migrate import alembic_config
from churn.db.tables import prediction_log
from churn.schema import EXAMPLE_RECORD, FEATURES, ID_COLUMN
from tests.fixtures.postgres import migrated

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLE_NAME = prediction_log.name


def _legacy_table(metadata: sa.MetaData) -> sa.Table:
    """`prediction_log` exactly as bentos/prediction_log.py created it before Alembic (frozen)."""
    kinds = {"categorical": sa.String(32), "binary": sa.Integer(), "integer": sa.Integer()}
    return sa.Table(
        TABLE_NAME,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("churn", sa.Boolean, nullable=False),
        *(sa.Column(f.name, kinds.get(f.kind, sa.Float()), nullable=False) for f in FEATURES),
        sa.Column(ID_COLUMN, sa.String(64), nullable=True),
    )


def _legacy_rows(n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        rows.append(
            {
                **EXAMPLE_RECORD,
                "tenure": i % 72,
                "MonthlyCharges": 20.0 + i / 7,
                ID_COLUMN: None if i % 3 else f"cust-{i}",
                # two doubles, as a retried commit could leave them before request_id was unique
                "request_id": f"legacy-{i if i not in (10, 11) else 9}",
                "created_at": start + timedelta(minutes=i),
                "model_version": "3",
                "churn_probability": (i % 100) / 100,
                "churn": i % 4 == 0,
            }
        )
    return rows


def _dump(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(sa.text(f"SELECT * FROM {TABLE_NAME} ORDER BY id"))
        return [dict(r._mapping) for r in result]


def test_a_log_from_before_migrations_upgrades_without_losing_a_row(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    metadata = sa.MetaData()
    legacy = _legacy_table(metadata)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(legacy.insert(), _legacy_rows(500))
    before = _dump(engine)
    assert current_revision(engine) is None

    if not db_url.startswith("sqlite"):  # a server: the worker refuses until the job has run
        with pytest.raises(PredictionLogConfigError, match="run `churn db migrate`"):
            PredictionLog(db_url)
        assert current_revision(engine) is None and _dump(engine) == before
        migrated(db_url)  # the deployment's migration job
    log = PredictionLog(db_url)  # what a service worker does at start (migrates only SQLite)
    log.append([{**_legacy_rows(1)[0], "request_id": "after-upgrade"}])
    log.close()

    assert current_revision(engine) == HEAD
    after = _dump(engine)
    assert len(after) == 501
    # every old row is still there, unchanged, but for the doubles' request_id made unique
    renamed = {row["id"] for row in before if row["request_id"] == "legacy-9"} - {10}
    for old, new in zip(before, after[:500], strict=True):
        if old["id"] in renamed:
            assert new["request_id"] == f"legacy-9~{old['id']}"
            old = {**old, "request_id": new["request_id"]}
        # revision 0005 adds `arm` and `served`: old rows were served by the champion
        assert {k: new[k] for k in old} == old
        assert (new["arm"], bool(new["served"])) == ("champion", True)
    assert after[500]["request_id"] == "after-upgrade"
    indexes = {i["name"]: i for i in sa.inspect(engine).get_indexes(TABLE_NAME)}
    assert indexes["ix_prediction_log_request_id"]["unique"]
    engine.dispose()


def test_an_empty_database_gets_the_table_the_service_writes(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # idempotent: a second worker finds nothing to do
    assert current_revision(engine) == HEAD
    inspector = sa.inspect(engine)
    got = {c["name"]: c["nullable"] for c in inspector.get_columns(TABLE_NAME)}
    want = {c.name: c.nullable for c in prediction_log.columns}
    assert got == want
    got_indexes = {(i["name"], bool(i["unique"])) for i in inspector.get_indexes(TABLE_NAME)}
    want_indexes = {(i.name, i.unique) for i in prediction_log.indexes}
    assert got_indexes == want_indexes
    engine.dispose()


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    from alembic import command

    engine = sa.create_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    assert current_revision(engine) == "0001"
    indexes = {i["name"]: i for i in sa.inspect(engine).get_indexes(TABLE_NAME)}
    assert not indexes["ix_prediction_log_request_id"]["unique"]
    upgrade(engine)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_a_foreign_table_of_the_same_name_stops_the_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {TABLE_NAME} (id INTEGER PRIMARY KEY, tenure INT)"))
    engine.dispose()
    with pytest.raises(PredictionLogConfigError, match=r"CHURN_PREDICTION_DB=.*migrating") as err:
        PredictionLog(url)
    assert "missing" in str(err.value)


def test_the_alembic_command_line_migrates_the_configured_database(postgres_url: str) -> None:
    """`alembic upgrade head` from the repository root reads CHURN_PREDICTION_DB (PostgreSQL
    only: the command line is the same for SQLite, and each run costs two interpreter starts)."""
    db_url = postgres_url
    env = {**os.environ, "CHURN_PREDICTION_DB": db_url}
    alembic = Path(sys.executable).parent / "alembic"
    out = subprocess.run(
        [str(alembic), "-c", str(REPO_ROOT / "alembic.ini"), "upgrade", "head"],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    current = subprocess.run(
        [str(alembic), "-c", str(REPO_ROOT / "alembic.ini"), "current"],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )  # fmt: skip
    assert f"{HEAD} (head)" in current.stdout
    engine = sa.create_engine(db_url)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_a_log_written_by_other_tools_without_indexes_is_adopted(db_url: str) -> None:
    """A table with the contract's columns but none of the service's indexes (as the monitoring
    tests' helpers write it) still migrates, keeping its rows."""
    engine = sa.create_engine(db_url)
    metadata = sa.MetaData()
    bare = sa.Table(
        TABLE_NAME, metadata, *(sa.Column(c.name, c.type, primary_key=c.primary_key)
                                for c in _legacy_table(sa.MetaData()).columns)
    )  # fmt: skip
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(bare.insert(), _legacy_rows(20)[:9])
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert len(_dump(engine)) == 9
    engine.dispose()


def test_every_declared_table_is_made_by_the_migrations(db_url: str) -> None:
    """churn/db/tables.py declares each table once; the migrations make exactly those columns."""
    from churn.db.tables import metadata

    engine = sa.create_engine(db_url)
    upgrade(engine)
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        got = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert got == {c.name: c.nullable for c in table.columns}, table.name
    engine.dispose()


def _old_ui_users_table(metadata: sa.MetaData) -> sa.Table:
    """`users` exactly as frontends/common/users.py's `create_all` made it before 0009 (frozen)."""
    return sa.Table(
        "users",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


@pytest.mark.parametrize("before", ["0006", None], ids=["after-0006", "no-migrations"])
def test_a_users_table_made_by_the_old_ui_is_adopted_with_its_users(
    db_url: str, before: str | None
) -> None:
    """The UI made `users` itself (on a migrated database, or before the service ever ran);
    revision 0009 takes the table as it is, and the users still sign in."""
    from werkzeug.security import generate_password_hash

    from churn.db.users import UserStore

    engine = sa.create_engine(db_url)
    if before is not None:
        upgrade(engine, before)
    metadata = sa.MetaData()
    old = _old_ui_users_table(metadata)
    metadata.create_all(engine)
    row = {
        "name": "ann",
        "password_hash": generate_password_hash("ann-pass-phrase"),
        "role": "admin",
        "created_at": datetime(2026, 11, 30, tzinfo=UTC),
    }
    with engine.begin() as conn:
        conn.execute(old.insert(), [row])
    assert current_revision(engine) == before

    if engine.dialect.name != "sqlite":  # the UI only checks a server's schema: migrate it first
        upgrade(engine)
    store = UserStore(db_url)  # what the UI does on first use: migrate a SQLite file
    user = store.authenticate("ann", "ann-pass-phrase")
    assert user is not None and user.role == "admin"
    assert current_revision(engine) == HEAD
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(old))]
    assert [(r["name"], r["password_hash"], r["role"]) for r in rows] == [
        (row["name"], row["password_hash"], row["role"])
    ]
    store.engine.dispose()
    engine.dispose()


def test_a_foreign_users_table_stops_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"))
    with pytest.raises(RuntimeError, match=r"users exists but is not the UI's layout: missing"):
        upgrade(engine)
    assert current_revision(engine) is None  # one transaction: nothing half-migrated on SQLite
    engine.dispose()
