"""The experiment rules (churn/experiment.py) and the serving state on a real SQLite database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from churn.db import serving_state
from churn.db.audit import AuditEvent, recent
from churn.experiment import (
    MAX_SHARE,
    ExperimentError,
    agreement,
    assign,
    bucket,
    validate,
)


def test_assignment_is_deterministic_and_salted() -> None:
    ids = [f"{i:04d}-ABCDE" for i in range(2000)]
    first = [assign(c, "s1", 0.3) for c in ids]
    assert first == [assign(c, "s1", 0.3) for c in ids]  # a customer always sees the same arm
    other_salt = [assign(c, "s2", 0.3) for c in ids]
    assert first != other_salt  # a new experiment reshuffles customers


@pytest.mark.parametrize("share", [0.05, 0.1, 0.5])
def test_the_share_goes_to_the_challenger(share: float) -> None:
    ids = [f"cust-{i}" for i in range(20_000)]
    got = sum(assign(c, "salt", share) == "challenger" for c in ids) / len(ids)
    assert got == pytest.approx(share, abs=0.015)


def test_growing_the_share_only_moves_customers_to_the_challenger() -> None:
    ids = [f"cust-{i}" for i in range(5000)]
    small = {c for c in ids if assign(c, "k", 0.1) == "challenger"}
    large = {c for c in ids if assign(c, "k", 0.3) == "challenger"}
    assert small < large


def test_a_record_without_customer_id_goes_to_the_champion() -> None:
    assert assign(None, "salt", MAX_SHARE) == "champion"
    assert assign("", "salt", MAX_SHARE) == "champion"
    assert 0.0 <= bucket("x", "salt") < 1.0


@pytest.mark.parametrize(
    ("mode", "challenger", "production", "share", "message"),
    [
        ("canary", "2", "1", None, "mode must be"),
        ("ab", "2", "1", 0.6, "share must be in"),
        ("ab", "2", "1", 0.0, "share must be in"),
        ("ab", "2", "1", float("nan"), "share must be in"),
        ("shadow", "2", "1", 0.2, "applies to ab only"),
        ("ab", "1", "1", 0.1, "already in production"),
        ("shadow", "2", None, None, "no production model"),
        ("shadow", " ", "1", None, "must not be empty"),
    ],
)
def test_bad_experiments_are_refused(
    mode: str, challenger: str, production: str | None, share: float | None, message: str
) -> None:
    with pytest.raises(ExperimentError, match=message):
        validate(mode, challenger, production, share)


def test_valid_plans() -> None:
    ab = validate("ab", "2", "1", None)
    assert (ab.mode, ab.share) == ("ab", 0.1) and len(ab.salt) == 16
    assert validate("ab", "2", "1", 0.5, salt="fixed").salt == "fixed"
    assert validate("shadow", "2", "1", None).share == 1.0


def test_agreement_of_shadow_pairs() -> None:
    pairs = [(0.9, True, 0.8, True), (0.2, False, 0.6, True), (0.1, False, 0.1, False)]
    got = agreement(pairs)
    assert got["pairs"] == 3
    assert got["decision_agreement"] == pytest.approx(2 / 3)
    assert got["mean_abs_probability_difference"] == pytest.approx((0.1 + 0.4 + 0.0) / 3)
    assert agreement([])["decision_agreement"] is None


def _event(action: str, to: str) -> AuditEvent:
    return AuditEvent(action, "cli", "tester", "telco_churn", "1", to, "because")


def test_state_and_audit_are_written_together(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert serving_state.read("telco_churn", url) is None
    first = serving_state.ServingState("telco_churn", "telco_churn:aaa", "1")
    assert serving_state.change(first, "telco_churn", _event("promote", "1"), url) is None
    started = serving_state.ServingState(
        "telco_churn", "telco_churn:aaa", "1", "ab", "telco_churn:bbb", "2", 0.2, "salt",
        dt.datetime(2026, 11, 29, tzinfo=dt.UTC), "tester",
    )  # fmt: skip
    previous = serving_state.change(started, "telco_churn", _event("experiment_start", "2"), url)
    assert previous is not None and previous.key() == first.key()
    stored = serving_state.read("telco_churn", url)
    assert stored is not None and stored.key() == started.key()
    assert stored.started_at == started.started_at and stored.updated_at is not None
    assert [e.action for e in recent(10, url)] == ["experiment_start", "promote"]
    ended = stored.with_production("telco_churn:ccc", "3")
    assert (ended.experiment, ended.challenger_tag, ended.share) == ("none", None, None)


def test_a_failed_audit_leaves_the_state_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    first = serving_state.ServingState("telco_churn", "telco_churn:aaa", "1")
    serving_state.change(first, "telco_churn", _event("promote", "1"), url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
            )
        )
    engine.dispose()
    second = serving_state.ServingState("telco_churn", "telco_churn:bbb", "2")
    with pytest.raises(sa.exc.DatabaseError, match="audit refused"):
        serving_state.change(second, "telco_churn", _event("promote", "2"), url)
    stored = serving_state.read("telco_churn", url)
    assert stored is not None and stored.production_tag == "telco_churn:aaa"


def test_migration_adds_arm_and_served_with_defaults(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    serving_state.read("telco_churn", url)  # migrates to head
    engine = sa.create_engine(url)
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("prediction_log")}
    engine.dispose()
    assert columns["arm"]["nullable"] is False and "champion" in str(columns["arm"]["default"])
    assert columns["served"]["nullable"] is False


def test_status_counts_arms_and_pairs_shadow_rows(tmp_path: Path) -> None:
    from churn.db import upgrade
    from churn.db.tables import prediction_log
    from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    base = {k: EXAMPLE_RECORD[k] for k in FEATURE_NAMES}

    def row(rid: str, version: str, p: float, arm: str, when: dt.datetime) -> dict[str, object]:
        served = arm == "champion"
        return {
            **base, "request_id": rid, "created_at": when, "model_version": version,
            "churn_probability": p, "churn": p >= 0.5, "arm": arm, "served": served,
        }  # fmt: skip

    old = now - dt.timedelta(hours=1)
    rows = [
        row("a", "1", 0.7, "champion", now),
        row("a:c", "2", 0.4, "challenger", now),
        row("b", "1", 0.2, "champion", now),
        row("b:c", "2", 0.3, "challenger", now),
        row("c", "1", 0.9, "champion", old),  # before the experiment started
        row("c:c", "2", 0.1, "challenger", old),
    ]
    with engine.begin() as conn:
        conn.execute(prediction_log.insert(), rows)
    since = now - dt.timedelta(minutes=1)
    with engine.connect() as conn:
        counts = serving_state.arm_counts(conn, since)
        pairs = serving_state.shadow_pairs(conn, since)
    engine.dispose()
    assert counts == [
        {"arm": "challenger", "model_version": "2", "served": False, "predictions": 2},
        {"arm": "champion", "model_version": "1", "served": True, "predictions": 2},
    ]
    assert sorted(pairs) == [(0.2, False, 0.3, False), (0.7, True, 0.4, False)]
    assert agreement(pairs)["decision_agreement"] == pytest.approx(0.5)
