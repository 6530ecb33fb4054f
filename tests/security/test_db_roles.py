"""The database roles of migration 0013, on the suite's real PostgreSQL: each part's role may do
what that part does, and the database itself refuses every other write (SQLSTATE 42501).

Each test takes a fresh database migrated by its owner (the migration role's place), then acts as
one role with `SET ROLE` in a transaction, so what is checked is PostgreSQL's own privilege check.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from churn.db import upgrade
from churn.db.audit import AuditEvent, insert
from churn.db.migrate import alembic_config
from churn.db.tables import metadata

roles = importlib.import_module("churn.db.migrations.versions.v0013_roles")
SERVICE, UI, MONITOR = roles.SERVICE, roles.UI, roles.MONITOR
LATER_GRANTS = ("v0014_customer_events",)
"""Revisions after 0013 that add a table, each with its own GRANTS in 0013's pattern."""
GRANTS: dict[str, dict[str, str]] = dict(roles.GRANTS)
for _name in LATER_GRANTS:
    GRANTS |= importlib.import_module(f"churn.db.migrations.versions.{_name}").GRANTS
NOW = datetime(2026, 12, 7, tzinfo=UTC)

TOKEN_ROW = (
    "INSERT INTO api_tokens (name, token_hash, scope, created_at, created_by) "
    "VALUES ('minted', 'x', 'admin', now(), 'attacker')"
)
SWITCH_MODEL = "UPDATE serving_state SET production_version = '666'"
ADD_STATE = (
    "INSERT INTO serving_state (model_name, production_tag, production_version, experiment, "
    "updated_at) VALUES ('telco_churn', 'evil:1', '666', 'none', now())"
)
ADD_ADMIN = (
    "INSERT INTO users (name, password_hash, role, created_at) "
    "VALUES ('mallory', 'x', 'admin', now())"
)
FORGED_AUDIT_DELETE = "DELETE FROM audit_log"
LOG_DELETE = "DELETE FROM prediction_log"
SCHEMA_CHANGE = "CREATE TABLE stolen (x int)"
ALTER_LOG = "ALTER TABLE prediction_log ADD COLUMN leak text"


@pytest.fixture()
def migrated(postgres_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    upgrade(engine)
    yield engine
    engine.dispose()


def _as(engine: sa.Engine, role: str, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"SET LOCAL ROLE {role}"))
        conn.execute(sa.text(sql))


def _refused(engine: sa.Engine, role: str, sql: str) -> None:
    with pytest.raises(sa.exc.ProgrammingError) as refused:
        _as(engine, role, sql)
    assert (
        getattr(refused.value.orig, "pgcode", None) == "42501"
    )  # insufficient_privilege: the server said no


def _event() -> AuditEvent:
    return AuditEvent("switch", "service", "svc", "telco_churn", "1", "2", "observed", NOW)


def test_every_table_at_head_has_its_grants(migrated: sa.Engine) -> None:
    """A table a later migration adds without an entry in GRANTS fails here."""
    tables = set(sa.inspect(migrated).get_table_names())
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert tables == set(GRANTS)


@pytest.mark.parametrize(
    "sql",
    [TOKEN_ROW, SWITCH_MODEL, ADD_STATE, ADD_ADMIN, LOG_DELETE, FORGED_AUDIT_DELETE, SCHEMA_CHANGE,
     ALTER_LOG, "SELECT * FROM users"],
)  # fmt: skip
def test_the_service_role_cannot_mint_tokens_switch_models_or_add_users(
    migrated: sa.Engine, sql: str
) -> None:
    _refused(migrated, SERVICE, sql)


def test_the_service_role_reads_tokens_and_writes_its_audit_rows(migrated: sa.Engine) -> None:
    with migrated.begin() as conn:
        conn.execute(sa.text(f"SET LOCAL ROLE {SERVICE}"))
        conn.execute(sa.text("SELECT token_hash FROM api_tokens")).all()
        conn.execute(sa.text("SELECT * FROM serving_state")).all()
        stored = insert(conn, _event())
    assert stored.action == "switch"


@pytest.mark.parametrize(
    "sql",
    [TOKEN_ROW, SWITCH_MODEL, ADD_STATE, LOG_DELETE, FORGED_AUDIT_DELETE, SCHEMA_CHANGE,
     "SELECT token_hash FROM api_tokens",
     "INSERT INTO prediction_log (request_id) VALUES ('forged')"],
)  # fmt: skip
def test_the_ui_role_cannot_mint_tokens_or_switch_the_served_model(
    migrated: sa.Engine, sql: str
) -> None:
    _refused(migrated, UI, sql)


def test_the_ui_role_manages_users_and_reads_the_log(migrated: sa.Engine) -> None:
    _as(migrated, UI, ADD_ADMIN)
    _as(migrated, UI, "UPDATE users SET role = 'viewer' WHERE name = 'mallory'")
    _as(migrated, UI, "SELECT count(*) FROM prediction_log")
    with migrated.connect() as conn:
        assert conn.execute(sa.text("SELECT role FROM users")).scalar_one() == "viewer"


@pytest.mark.parametrize(
    "sql",
    [TOKEN_ROW, SWITCH_MODEL, ADD_STATE, ADD_ADMIN, SCHEMA_CHANGE,
     "INSERT INTO prediction_log (request_id) VALUES ('forged')",
     "UPDATE prediction_log SET churn = false", "SELECT token_hash FROM api_tokens"],
)  # fmt: skip
def test_the_monitoring_role_cannot_write_the_log_tokens_or_state(
    migrated: sa.Engine, sql: str
) -> None:
    _refused(migrated, MONITOR, sql)


def test_the_monitoring_role_purges_what_retention_expired(migrated: sa.Engine) -> None:
    with migrated.begin() as conn:
        conn.execute(sa.text(f"SET LOCAL ROLE {MONITOR}"))
        conn.execute(sa.text("DELETE FROM prediction_log WHERE created_at < now()"))
        conn.execute(sa.text("DELETE FROM outcomes WHERE observed_at < now()"))
        insert(conn, AuditEvent("privacy_purge", "cli", "monitor", "customer_data", None,
                                "-", "retention", NOW))  # fmt: skip


def test_downgrade_takes_the_grants_back(migrated: sa.Engine) -> None:
    with migrated.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    _refused(migrated, UI, "SELECT count(*) FROM prediction_log")


def test_db_check_and_migrate_as_typed(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A part that may not migrate stops with one line naming the command; the migration role's
    one-shot command brings the schema to this code's revision."""
    from churn.cli import main
    from churn.db.migrate import HEAD, SchemaNotCurrentError, ready
    from churn.db.users import UserStore

    assert main(["db", "check", "--db", postgres_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the schema is at revision none") and "churn db migrate" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(SchemaNotCurrentError, match="churn db migrate"):
        UserStore(postgres_url).authenticate("ann", "x")  # what a UI does at first use

    assert main(["db", "migrate", "--db", postgres_url]) == 0
    assert capsys.readouterr().out.strip() == f"schema at {HEAD} (was empty)"
    assert main(["db", "check", "--db", postgres_url]) == 0
    engine = sa.create_engine(postgres_url)
    ready(engine)  # current: nothing to say
    engine.dispose()


def test_db_migrate_on_an_unreachable_server_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from churn.cli import main

    url = "postgresql://churn:secret-pw@127.0.0.1:1/churn"
    assert main(["db", "migrate", "--db", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot migrate") and len(err.strip().splitlines()) == 1
    assert "secret-pw" not in err
