"""The pure rules of churn/control/privacy.py: no table with a customer column is forgotten, raw
IDs are refused on PostgreSQL unless allowed, and a short retention says what it starves."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from churn.control.privacy import (
    CUSTOMER_TABLES,
    PURGE_TABLES,
    RawCustomerIdsRefused,
    audit_subject,
    require_customer_key,
    retention_note,
    stored_keys,
)
from churn.db.tables import metadata
from churn.privacy import customer_key
from churn.settings import Settings

PG = "postgresql://churn:pw-9d8c@db.example:5432/churn"


def undeclared(tables: sa.MetaData) -> list[tuple[str, str]]:
    """(table, column) of every column whose name says it holds a customer, not in the list."""
    declared = {(table.name, column) for table, column in CUSTOMER_TABLES}
    return sorted(
        (table.name, column.name)
        for table in tables.tables.values()
        for column in table.columns
        if "customer" in column.name.lower() and (table.name, column.name) not in declared
    )


def test_every_customer_column_of_the_project_database_is_declared() -> None:
    assert undeclared(metadata) == []
    for table, column in CUSTOMER_TABLES:
        assert metadata.tables[table.name] is table and column in table.c
    purged = {table.name for table, _ in PURGE_TABLES}
    assert {t.name for t, _ in CUSTOMER_TABLES} <= purged  # retention covers every customer row
    assert "audit_log" in purged
    # the check bites: a later table with a customer key and no entry in the list is named
    later = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(later)
    sa.Table("loyalty", later, sa.Column("id", sa.Integer), sa.Column("customer_key", sa.String))
    assert undeclared(later) == [("loyalty", "customer_key")]


@pytest.mark.parametrize(
    ("url", "key", "allow", "refused"),
    [
        (PG, None, False, True),
        (PG, "   ", False, True),  # a blank key is no key
        ("postgresql+psycopg2://u@h/db", None, False, True),
        (PG, "a-secret", False, False),
        (PG, None, True, False),  # raw IDs on purpose
        ("sqlite:////tmp/p.db", None, False, False),  # a laptop's file
        ("not a url", None, False, False),  # the engine factory names that one
    ],
)
def test_require_customer_key(url: str, key: str | None, allow: bool, refused: bool) -> None:
    settings = Settings(prediction_db=url, customer_id_key=key, allow_raw_customer_ids=allow)
    if not refused:
        require_customer_key(settings)
        return
    with pytest.raises(RawCustomerIdsRefused) as caught:
        require_customer_key(settings)
    message = str(caught.value)
    assert "CHURN_CUSTOMER_ID_KEY" in message and "CHURN_ALLOW_RAW_CUSTOMER_IDS=true" in message
    assert "pw-9d8c" not in message  # nor the URL with its password


def test_allow_raw_customer_ids_is_a_strict_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURN_ALLOW_RAW_CUSTOMER_IDS", "true")
    monkeypatch.setenv("CHURN_RETENTION_DAYS", "400")
    settings = Settings()
    assert settings.allow_raw_customer_ids is True and settings.retention_days == 400
    monkeypatch.setenv("CHURN_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="retention_days"):
        Settings()


def test_retention_note_names_what_the_realized_metrics_need() -> None:
    assert retention_note(120, 30, 90) is None
    note = retention_note(60, 30, 90)
    assert note is not None and "CHURN_RETENTION_DAYS=60" in note and "120 days" in note


def test_a_customer_is_found_by_every_form_a_store_may_hold() -> None:
    keyed = customer_key("A-1", "k")
    assert stored_keys("A-1", "k") == (keyed, "A-1")  # and rows from before the key
    assert set(stored_keys(" A-1", "k")) == {customer_key(" A-1", "k"), keyed, " A-1", "A-1"}
    assert stored_keys("A-1", None) == ("A-1",)
    assert audit_subject("A-1", "k") == keyed
    unkeyed = audit_subject("A-1", None)
    assert unkeyed.startswith("r1:") and "A-1" not in unkeyed and len(unkeyed) <= 64
    # a receipt, not a hash: nothing in it can be tried against IDs
    assert unkeyed != audit_subject("A-1", None)
