"""The serving state (live switching, experiments) and the API tokens on SQLite and on the
session's real PostgreSQL server: what every worker and pod reads must round-trip on both."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from churn.auth import hash_token
from churn.db import HEAD, current_revision, upgrade
from churn.db.audit import AuditEvent, recent
from churn.db.serving_state import ServingState, change, read
from churn.db.tokens import TokenExists, active_hashes, create, list_tokens, revoke


def _event(to: str) -> AuditEvent:
    return AuditEvent(
        action="experiment_start", source="cli", actor="alice", model_name="telco_churn",
        from_version="1", to_version=to, reason="shadow before promoting",
    )  # fmt: skip


def test_the_serving_state_round_trips_with_its_audit_row(migrated_db_url: str) -> None:
    name = "telco_churn"
    assert read(name, url=migrated_db_url) is None
    state = ServingState(
        model_name=name, production_tag="telco_churn:aaa", production_version="1",
        experiment="shadow", challenger_tag="telco_churn:bbb", challenger_version="2", share=None,
    )  # fmt: skip
    assert change(state, name, _event("2"), url=migrated_db_url) is None
    stored = read(name, url=migrated_db_url)
    assert stored is not None
    assert (stored.production_version, stored.experiment, stored.challenger_version) == (
        "1", "shadow", "2",
    )  # fmt: skip
    assert stored.updated_at is not None and stored.updated_at.tzinfo is not None
    assert abs(stored.updated_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert [(e.action, e.to_version) for e in recent(5, migrated_db_url)] == [
        ("experiment_start", "2")
    ]

    with pytest.raises(RuntimeError, match="registry"):
        from churn.db.serving_state import transaction, write_with

        with transaction(_event("3"), url=migrated_db_url) as conn:
            write_with(conn, None, name)
            raise RuntimeError("a registry failed halfway")
    assert read(name, url=migrated_db_url) == stored  # the failed change left the state as it was
    assert len(recent(5, migrated_db_url)) == 1  # and no audit row


def test_tokens_create_list_revoke_and_the_services_refresh(migrated_db_url: str) -> None:
    token = create("ui", "predict", actor="alice", url=migrated_db_url)
    engine = sa.create_engine(migrated_db_url)
    try:
        assert current_revision(engine) == HEAD
        assert active_hashes(engine) == {hash_token(token): "predict"}
        with pytest.raises(TokenExists):
            create("ui", "admin", actor="alice", url=migrated_db_url)
        revoke("ui", actor="bob", url=migrated_db_url)
        assert active_hashes(engine) == {}
        listed = list_tokens(include_revoked=True, url=migrated_db_url)
        assert [(t.name, t.scope) for t in listed] == [("ui", "predict")]
        again = create(
            "ui", "admin", actor="alice", url=migrated_db_url
        )  # a revoked name can be reused
        assert active_hashes(engine) == {hash_token(again): "admin"}
    finally:
        engine.dispose()
    actions = [(e.action, e.actor) for e in recent(10, migrated_db_url)]
    newest_first = [("token_create", "alice"), ("token_revoke", "bob"), ("token_create", "alice")]
    assert actions == newest_first


def test_migrations_reach_the_head_on_an_empty_database(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        upgrade(engine)
        tables = set(sa.inspect(engine).get_table_names())
        assert {"prediction_log", "audit_log", "outcomes", "serving_state", "api_tokens"} <= tables
        columns = {c["name"] for c in sa.inspect(engine).get_columns("prediction_log")}
        assert {"arm", "served"} <= columns
    finally:
        engine.dispose()


def test_a_promotion_checks_the_schema_and_never_migrates(db_url: str) -> None:
    """`serving_state.transaction` reads the schema's revision, never runs Alembic: a current
    SQLite file is not locked for migration (Alembic's lock file is not made), and a server whose
    migration job has not run refuses the change, naming `churn db migrate`, and stays empty."""
    from churn.db.migrate import SchemaNotCurrentError
    from tests.fixtures.postgres import migrated

    name = "telco_churn"
    state = ServingState(name, "telco_churn:aaa", "1")
    if db_url.startswith("sqlite"):
        lock = Path(f"{sa.make_url(migrated(db_url)).database}.migrate.lock")
        lock.unlink()
        assert change(state, name, _event("1"), url=db_url) is None
        assert read(name, url=db_url) is not None
        assert not lock.exists(), "a promotion on a current database ran the migrations"
        return
    with pytest.raises(SchemaNotCurrentError, match=r"none \(empty\).*run `churn db migrate`"):
        change(state, name, _event("1"), url=db_url)
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
