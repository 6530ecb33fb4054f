"""The audit trail in the project database: revision 0003, `record`/`recent`, `churn audit`.

Every test runs on SQLite and on the session's real PostgreSQL server.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from churn.cli import main
from churn.db import current_revision, upgrade
from churn.db.audit import AuditEvent, default_actor, recent, record
from churn.settings import get_settings


def _event(to: str, at: dt.datetime | None = None, **overrides: str) -> AuditEvent:
    values = {
        "action": "promote",
        "source": "cli",
        "actor": "alice",
        "model_name": "telco_churn",
        "from_version": "1",
        "to_version": to,
        "reason": "better on last month's outcomes",
        **overrides,
    }
    return AuditEvent(**values, created_at=at)  # type: ignore[arg-type]


def test_revision_0003_adds_the_table_and_downgrades(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        upgrade(engine, "0003")  # this revision's own change (later ones build on it)
        assert current_revision(engine) == "0003"
        columns = {c["name"] for c in sa.inspect(engine).get_columns("audit_log")}
        assert columns == {
            "id", "created_at", "action", "source", "actor", "model_name", "from_version",
            "to_version", "reason",
        }  # fmt: skip
        from alembic import command

        from churn.db.migrate import alembic_config

        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")
        assert current_revision(engine) == "0002"
        assert not sa.inspect(engine).has_table("audit_log")
        assert sa.inspect(engine).has_table("prediction_log")
    finally:
        engine.dispose()


def test_recorded_events_come_back_newest_first(migrated_db_url: str) -> None:
    start = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    for i in range(3):
        record(_event(str(i + 2), start + dt.timedelta(minutes=i)), migrated_db_url)
    stored = record(
        _event("9", None, action="rollback", actor="bob", reason="bad week"), migrated_db_url
    )
    assert stored.created_at is not None and stored.created_at > start
    events = recent(10, migrated_db_url)
    assert [e.to_version for e in events] == ["9", "4", "3", "2"]
    assert events[0] == stored  # every field survives the round trip, the time zone too
    assert events[1].created_at == start + dt.timedelta(minutes=2)
    assert [e.to_version for e in recent(2, migrated_db_url)] == ["9", "4"]


def test_a_failed_change_leaves_no_row(migrated_db_url: str) -> None:
    from churn.db.audit import recording

    with (
        pytest.raises(RuntimeError, match="registry down"),
        recording(_event("2"), migrated_db_url),
    ):
        raise RuntimeError("registry down")
    assert recent(10, migrated_db_url) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"action": "delete"}, "audit action must be one of"), ({"actor": " "}, "actor must not")],
)
def test_bad_events_are_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _event("2", **overrides)


def test_default_actor_is_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "carol")
    monkeypatch.setenv("USER", "carol")
    assert default_actor() == "carol"


def test_the_audit_actor_setting_names_the_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURN_AUDIT_ACTOR", " github:4242 ")
    get_settings.cache_clear()
    try:
        assert default_actor() == "github:4242"
    finally:
        monkeypatch.delenv("CHURN_AUDIT_ACTOR")
        get_settings.cache_clear()


def test_churn_audit_lists_the_project_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'project.db'}"
    monkeypatch.setenv("CHURN_PREDICTION_DB", url)
    get_settings.cache_clear()
    try:
        assert main(["audit"]) == 0
        assert "nothing recorded yet" in capsys.readouterr().out
        record(_event("2", dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)), url)
        record(_event("3", dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC), actor="bob"), url)
        assert main(["audit", "--json", "--limit", "1"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [(e["to_version"], e["actor"]) for e in listed] == [("3", "bob")]
        assert listed[0]["created_at"] == "2026-11-28T10:00:00+00:00"
        assert main(["audit"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split()[:4] == ["time", "(UTC)", "action", "source"]
        assert lines[1].startswith("2026-11-28 10:00:00") and " bob " in lines[1]
        assert lines[2].startswith("2026-11-28 09:00:00") and " alice " in lines[2]
        assert main(["audit", "--limit", "0"]) == 2
        assert "--limit must be at least 1" in capsys.readouterr().err
        record(_event("3", dt.datetime(2026, 11, 28, 11, 0, tzinfo=dt.UTC), action="switch"), url)
        assert main(["audit", "--json", "--action", "promote", "--limit", "1"]) == 0
        assert [e["action"] for e in json.loads(capsys.readouterr().out)] == ["promote"]
        assert main(["audit", "--json", "--action", "switch", "--action", "promote"]) == 0
        assert [e["action"] for e in json.loads(capsys.readouterr().out)] == ["switch"] + [
            "promote"
        ] * 2
        assert main(["audit", "--action", "rollback"]) == 0
        assert "no such event recorded yet" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_an_unknown_action_is_refused_by_the_cli_and_by_the_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from churn.db import audit as audit_db

    assert main(["audit", "--action", "promotion"]) == 2
    err = capsys.readouterr().err
    assert "['promotion']" in err and all(a in err for a in audit_db.ACTIONS)
    with pytest.raises(ValueError, match="audit action must be one of"):
        audit_db.recent(1, url="sqlite://", actions=["promotion"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["model", "promote", "1", "--reason", " "], "--reason must not be empty"),
        (["model", "promote", "1", "--reason", "r", "--actor", ""], "--actor must not be empty"),
        (["rollback", "--reason", ""], "--reason must not be empty"),
        (["rollback", "--actor", " "], "--actor must not be empty"),
    ],
)
def test_empty_reason_or_actor_is_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err
