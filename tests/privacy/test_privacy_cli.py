"""`churn privacy export|erase|purge` as a user types them, on SQLite and on a real PostgreSQL
server, with customer IDs keyed as in production: every table's rows found, all erased in one
transaction with an audit row that never holds the raw ID, purges batched and counted, and bad
arguments refused with one line and nothing written."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from churn.cli import main
from churn.control.privacy import CUSTOMER_TABLES, purge
from churn.db.audit import recent
from churn.db.outcomes import engine_for, store
from churn.db.tables import (
    audit_log,
    campaign_assignments,
    campaigns,
    customer_events,
    prediction_log,
)
from churn.outcomes import Outcome
from churn.privacy import customer_key
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES
from churn.settings import get_settings
from tests.fixtures.db_faults import break_inserts, count_rows, repair_inserts

pytestmark = [pytest.mark.integration]
KEY = "privacy-test-key"
ANA, BEN = "7590-VHVEG", "5575-GNVDE"
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture()
def keyed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHURN_CUSTOMER_ID_KEY", KEY)
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CHURN_CUSTOMER_ID_KEY")
    get_settings.cache_clear()


def _log_rows(customers: list[str | None], age_days: float) -> list[dict[str, Any]]:
    features = {name: EXAMPLE_RECORD[name] for name in FEATURE_NAMES}
    return [
        {
            **features,
            "request_id": f"{age_days}-{i}-{customer}",
            "created_at": NOW - dt.timedelta(days=age_days, seconds=i),
            "model_version": "1",
            "churn_probability": 0.4,
            "churn": False,
            "customerID": customer,
        }
        for i, customer in enumerate(customers)
    ]


def _event_row(event_id: str, key: str, at: dt.datetime) -> dict[str, object]:
    """A `customer_events` row, as `churn events consume` records one."""
    return {"event_id": event_id, "customerID": key, "kind": "bill", "cause": "bill",
            "event_time": at, "handled_at": at, "model_version": "1", "churn_probability": 0.5,
            "previous_probability": 0.4, "alert": None, "done": True}  # fmt: skip


def _seed(url: str) -> None:
    """Ana: two keyed predictions and one raw (written before the key was set), an outcome, a
    campaign assignment, an event. Ben: one of each but the event. Six old anonymous predictions,
    two old outcomes, one old event."""
    ana, ben = customer_key(ANA, KEY), customer_key(BEN, KEY)
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(prediction_log.insert(), _log_rows([ana, ana, ANA, ben], 1))
            conn.execute(prediction_log.insert(), _log_rows([None] * 6, 100))
            key = conn.execute(
                campaigns.insert().values(
                    name="spring", started_at=NOW, created_by="ana", model_name="telco_churn",
                    model_version="1", rank_rule="risk", budget=2, control_share=0.0,
                    offer_cost=1.0, saved_value=2.0, salt="s", n_treated=2, n_control=0,
                    source_file="c.csv",
                )
            ).inserted_primary_key  # fmt: skip
            assert key is not None
            conn.execute(
                campaign_assignments.insert(),
                [
                    {"campaign_id": key[0], "customerID": c, "arm": "treated", "rank": r,
                     "churn_probability": 0.5, "expected_value": 10.0}
                    for r, c in enumerate((ana, ben), start=1)
                ],
            )  # fmt: skip
            long_before = NOW - dt.timedelta(days=99)
            conn.execute(customer_events.insert(), [
                _event_row("e-ana", ana, NOW), _event_row("e-old", "o9", long_before)
            ])  # fmt: skip
        outcomes = [Outcome(customerID=c, churned=True) for c in (ANA, BEN)]
        long_ago = NOW - dt.timedelta(days=99)
        old = [Outcome(customerID=f"o{i}", churned=False, observed_at=long_ago) for i in (1, 2)]
        store(engine, [*outcomes, *old], "cli", secret=KEY)
    finally:
        engine.dispose()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _held(url: str, customer: str) -> dict[str, int]:
    keys = (customer_key(customer, KEY), customer)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(
                    sa.select(sa.func.count()).where(table.c[column].in_(keys))
                ).scalar_one()
                for table, column in CUSTOMER_TABLES
            }
    finally:
        engine.dispose()


def _audit_text(url: str) -> str:
    return json.dumps([e.as_dict() for e in recent(100, url=url)])


def test_export_erase_and_purge(
    migrated_db_url: str, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(migrated_db_url)
    db = ("--db", migrated_db_url, "--actor", "dpo")
    code, out, err = _run(capsys, "privacy", "export", ANA, "--json", *db)
    assert code == 0, err
    exported = json.loads(out)
    assert exported["counts"] == {
        "prediction_log": 3, "outcomes": 1, "campaign_assignments": 1, "campaign_contacts": 0,
        "customer_events": 1,
    }  # fmt: skip
    assert exported["customer_key"] == customer_key(ANA, KEY)
    assert {r["customerID"] for r in exported["tables"]["prediction_log"]} == {
        customer_key(ANA, KEY),
        ANA,
    }
    assert exported["tables"]["outcomes"][0]["churned"] is True
    code, out, _ = _run(capsys, "privacy", "export", ANA, *db)
    assert code == 0 and len(out.splitlines()) == 6 and out.startswith("prediction_log\t{")

    # the audit row cannot be written: nothing is deleted (one transaction)
    break_inserts(migrated_db_url, "audit_log")
    code, _, err = _run(capsys, "privacy", "erase", ANA, "--reason", "ticket 7", *db)
    assert code == 1 and err.startswith("error: erase failed, nothing deleted:")
    assert len(err.splitlines()) == 1 and _held(migrated_db_url, ANA)["prediction_log"] == 3
    repair_inserts(migrated_db_url, "audit_log")

    code, out, err = _run(capsys, "privacy", "erase", ANA, "--reason", "ticket 7", *db)
    assert code == 0, err
    assert "prediction_log=3, outcomes=1, campaign_assignments=1" in out
    none = {"prediction_log": 0, "outcomes": 0, "campaign_assignments": 0, "campaign_contacts": 0,
            "customer_events": 0}  # fmt: skip
    assert _held(migrated_db_url, ANA) == none
    assert _held(migrated_db_url, BEN) == {
        **none,
        "prediction_log": 1,
        "outcomes": 1,
        "campaign_assignments": 1,
    }
    erased = recent(1, url=migrated_db_url, actions=["privacy_erase"])[0]
    assert (erased.actor, erased.to_version) == ("dpo", customer_key(ANA, KEY))
    assert erased.reason.startswith("ticket 7 (deleted prediction_log=3")
    assert len(recent(10, url=migrated_db_url, actions=["privacy_export"])) == 2
    assert ANA not in _audit_text(migrated_db_url)  # never the raw ID

    # an unknown customer: nothing to delete, exit 0, still audited
    code, out, err = _run(capsys, "privacy", "erase", "0000-NOONE", "--reason", "ticket 8", *db)
    assert code == 0 and "erased 0 row(s)" in out and "audited" in err
    assert len(recent(10, url=migrated_db_url, actions=["privacy_erase"])) == 2

    # retention: the old rows go in batches, the young stay; counted and audited
    engine = engine_for(migrated_db_url)
    try:
        counts = purge(engine, 30, "tester", batch_rows=4)
    finally:
        engine.dispose()
    assert counts == {
        "prediction_log": 6, "outcomes": 2, "customer_events": 1, "audit_log": 0,
        "campaign_assignments": 0, "campaign_contacts": 0,
    }  # fmt: skip
    assert (
        count_rows(migrated_db_url) == 1
        and count_rows(migrated_db_url, "select count(*) from outcomes") == 1
    )
    code, out, _ = _run(capsys, "privacy", "purge", "--older-than", "30", *db)
    assert code == 0 and "prediction_log=0, outcomes=0" in out
    purges = recent(10, url=migrated_db_url, actions=["privacy_purge"])
    assert [p.actor for p in purges] == ["dpo", "tester"]
    deleted = (
        "prediction_log=6, outcomes=2, customer_events=1, audit_log=0, campaign_assignments=0, "
        "campaign_contacts=0"
    )
    assert f"deleted {deleted}; done" in purges[1].reason


def test_retention_also_purges_old_audit_rows_and_closed_campaigns_assignments(
    migrated_db_url: str, keyed: None
) -> None:
    _seed(migrated_db_url)
    long_ago = NOW - dt.timedelta(days=100)
    engine = engine_for(migrated_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                audit_log.insert().values(
                    created_at=long_ago, action="sign_in", source="flask", actor="ana",
                    model_name="flask", from_version=None, to_version="ok",
                    reason="from 203.0.113.7",
                )
            )  # fmt: skip
        counts = purge(engine, 30, "tester")
        assert (counts["audit_log"], counts["campaign_assignments"]) == (1, 0)  # still open
        with engine.begin() as conn:
            conn.execute(campaigns.update().values(closed_at=long_ago))
        counts = purge(engine, 30, "tester")
        assert counts["campaign_assignments"] == 2
    finally:
        engine.dispose()
    assert _held(migrated_db_url, BEN)["campaign_assignments"] == 0
    assert (
        count_rows(migrated_db_url, "select count(*) from campaigns") == 1
    )  # the record of it stays
    assert "203.0.113.7" not in _audit_text(migrated_db_url)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["erase", "", "--reason", "x"], "CUSTOMER_ID must not be empty"),
        (["erase", "X" * 65, "--reason", "x"], "CUSTOMER_ID is 65 characters"),
        (["export", "A\x07B"], "CUSTOMER_ID holds a control character"),
        (["erase", ANA, "--reason", "  "], "--reason must not be empty"),
        (["erase", ANA, "--reason", "x", "--actor", " "], "--actor must not be empty"),
        (["purge", "--older-than", "0"], "--older-than must be at least 1 day, got 0"),
    ],
)
def test_bad_arguments_are_one_line_and_write_nothing(
    argv: list[str], message: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    code, out, err = _run(capsys, "privacy", *argv, "--db", url)
    assert (code, out) == (2, "") and err.startswith(f"error: {message}")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "p.db").exists()  # not even opened


@pytest.mark.parametrize("url", ["not-a-url", "sqlite:////proc/no/such/dir/p.db"])
def test_a_database_that_cannot_be_opened_is_one_line(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "privacy", "purge", "--older-than", "30", "--db", url)
    assert (code, out) == (1, "") and err.startswith("error: cannot open the project database:")
    assert len(err.splitlines()) == 1
