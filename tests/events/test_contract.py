"""The event contract (churn/events/contract.py), the alert rule and the day generator, without
servers: what is accepted, what is refused and with which reason, what each kind does to a
record, and that a generated day applies cleanly to its customers in order."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from churn.events.contract import (
    KINDS,
    BadEvent,
    Bill,
    PlanChange,
    SupportContact,
    checked_record,
    json_schema,
    parse_event,
    to_json,
)
from churn.events.handler import alert_reason
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES

RECORD = {f: EXAMPLE_RECORD[f] for f in FEATURE_NAMES}
HEAD = {"version": 1, "event_id": "e-1", "customerID": "7590-VHVEG",
        "event_time": "2026-12-07T10:00:00+01:00"}  # fmt: skip
GOOD: dict[str, dict[str, Any]] = {
    "plan_change": {"kind": "plan_change", "changes": {"Contract": "Two year"}},
    "bill": {"kind": "bill", "amount": 70.5, "total_to_date": 845.5, "months_billed": 12},
    "support_contact": {"kind": "support_contact", "reason": "cancellation", "channel": "chat"},
    "usage_summary": {
        "kind": "usage_summary",
        "period_days": 7,
        "data_gb": 3.5,
        "voice_minutes": 120,
    },
    "contract_end": {"kind": "contract_end", "ends_on": "2027-01-31"},
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_accepted_and_survives_its_own_json(kind: str) -> None:
    event = parse_event(json.dumps({**HEAD, **GOOD[kind]}), b"7590-VHVEG")
    assert event.kind == kind
    assert event.event_time.utcoffset() == dt.timedelta(hours=1)
    assert parse_event(to_json(event)) == event


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"event_time": "2026-12-07T10:00:00"}, "event_time: Input should have timezone info"),
        ({"event_id": "has space"}, "event_id: String should match pattern"),
        ({"customerID": ""}, "customerID: String should have at least 1 character"),
        ({"version": 2}, "version: unsupported event version 2 (known: 1)"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"changes": {"Contract": "Weekly"}}, "Contract: Input should be 'Month-to-month'"),
        ({"changes": {"gender": "Male"}}, "gender: Extra inputs are not permitted"),
        ({"changes": {}}, "changes: name at least one of PhoneService"),
    ],
)
def test_a_bad_plan_change_is_refused_naming_the_field(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(BadEvent) as refused:
        parse_event(json.dumps({**HEAD, **GOOD["plan_change"], **change}))
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "an event is a JSON object, not list"),
        (b'{"version": 1, "kind": "refund"}', "Input tag 'refund' found using 'kind'"),
        (b"x" * 70_000, "more than 65536"),
    ],
)
def test_what_is_not_an_event_is_refused_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(BadEvent) as refused:
        parse_event(raw)
    assert reason in refused.value.reason


def test_the_message_key_must_be_the_customer() -> None:
    with pytest.raises(BadEvent, match="key: the message key 'other' is not the event's"):
        parse_event(json.dumps({**HEAD, **GOOD["bill"]}), b"other")


def test_what_each_kind_does_to_the_record() -> None:
    bill = parse_event(json.dumps({**HEAD, **GOOD["bill"]}))
    assert isinstance(bill, Bill)
    after = checked_record(bill, RECORD)
    assert (after["MonthlyCharges"], after["TotalCharges"], after["tenure"]) == (70.5, 845.5, 12)
    assert checked_record(bill, after) == after  # a state, not an increment: twice is once
    plan = parse_event(json.dumps({**HEAD, **GOOD["plan_change"]}))
    assert isinstance(plan, PlanChange)
    assert checked_record(plan, RECORD) == {**RECORD, "Contract": "Two year"}
    assert plan.cause == "plan_change: Contract"
    for kind in ("support_contact", "usage_summary", "contract_end"):
        assert checked_record(parse_event(json.dumps({**HEAD, **GOOD[kind]})), RECORD) == RECORD


def test_a_plan_change_that_breaks_the_record_is_refused_by_the_record_validator() -> None:
    no_internet = {**HEAD, "kind": "plan_change", "changes": {"InternetService": "No"}}
    with pytest.raises(BadEvent) as refused:
        checked_record(parse_event(json.dumps(no_internet)), RECORD)
    assert "OnlineSecurity: must be 'No internet service'" in refused.value.reason


def test_alert_reasons() -> None:
    call = parse_event(json.dumps({**HEAD, **GOOD["support_contact"]}))
    bill = parse_event(json.dumps({**HEAD, **GOOD["bill"]}))
    assert isinstance(call, SupportContact)
    assert alert_reason(bill, 0.30, 0.45, threshold=0.4, rise=0.15) == "crossed"
    assert alert_reason(bill, 0.50, 0.65, threshold=0.4, rise=0.15) == "rose"
    assert alert_reason(bill, 0.50, 0.64, threshold=0.4, rise=0.15) is None
    assert alert_reason(bill, 0.45, 0.30, threshold=0.4, rise=0.15) is None  # falling: never
    assert alert_reason(call, 0.10, 0.10, threshold=0.4, rise=0.15) == "cancellation_call"


def test_the_json_schema_names_every_kind() -> None:
    schema = json.dumps(json_schema())
    assert all(f'"{kind}"' in schema for kind in KINDS)


def test_a_generated_day_applies_to_its_customers_in_order() -> None:
    from churn.events.generate import day_of_events, records_of
    from churn.generator import generate

    records = records_of(generate(200, seed=3))
    focus = next(iter(records))
    day = dt.date(2026, 12, 7)
    events = [parse_event(json.dumps(e)) for e in day_of_events(records, day, 3000, focus=focus)]
    assert len(events) >= 3000
    assert len({e.event_id for e in events}) == len(events)
    assert [e.event_time for e in events] == sorted(e.event_time for e in events)
    assert {e.event_time.date() for e in events} == {day}
    assert {e.kind for e in events} == set(KINDS)
    state = dict(records)
    for event in events:  # never refused by the record validator
        state[event.customerID] = checked_record(event, state[event.customerID])
    mine = [e for e in events if e.customerID == focus]
    call = next(i for i, e in enumerate(mine) if e.cause == "support_contact: cancellation")
    assert any(e.kind == "plan_change" and e.changes.Contract == "Month-to-month"
               for e in mine[call:])  # fmt: skip
