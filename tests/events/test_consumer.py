"""`churn events consume` against a real Kafka-protocol broker (Tansu, on loopback), a real Redis
online store and the project database: features updated, customers re-scored and logged with the
cause, alerts published, order kept per customer, poison events dead-lettered, restarts resuming
from the committed offset, and a consumer killed mid-batch losing nothing and doubling nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa

from churn.db.tables import customer_events, prediction_log
from churn.schema import ID_COLUMN
from tests.events.conftest import Lane, counter, produce_events, read_topic, run_consumer

pytestmark = pytest.mark.integration
T0 = "2026-12-07T09:00:00+00:00"


def _event(n: int, customer: str, kind: str, **body: Any) -> dict[str, Any]:
    return {"version": 1, "event_id": f"t-{n}", "customerID": customer,
            "event_time": f"2026-12-07T09:{n // 60 % 60:02d}:{n % 60:02d}+00:00", "kind": kind,
            **body}  # fmt: skip


def _bill(n: int, customer: str, months: int) -> dict[str, Any]:
    return _event(n, customer, "bill", amount=50.0 + months, total_to_date=100.0 * months,
                  months_billed=months)  # fmt: skip


def _rows(lane: Lane) -> list[dict[str, Any]]:
    with lane.engine.connect() as conn:
        query = sa.select(customer_events).order_by(customer_events.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def _logged(lane: Lane) -> list[str]:
    with lane.engine.connect() as conn:
        query = sa.select(prediction_log.c.request_id)
        return [r for (r,) in conn.execute(query) if r.startswith("ev:")]


def _online(lane: Lane, ids: list[str]) -> dict[str, Any]:
    from churn.feature_store.online_write import current_records

    return dict(current_records(ids, lane.settings))


def test_a_cancellation_call_and_a_risky_plan_change_rescore_log_and_alert(
    lane: Lane, scorer: Any, customers: dict[str, Any]
) -> None:
    from churn.events.generate import _risky_changes

    # the customer whose risk the scenario's plan change raises most (the demo's customer)
    def rise(i: str) -> float:
        after = {**customers[i], **_risky_changes(customers[i])}
        return float(scorer.probabilities(_frame(after))[0] - scorer.probabilities(
            _frame(customers[i]))[0])  # fmt: skip

    focus = max(customers, key=rise)
    before = float(scorer.probabilities(_frame(customers[focus]))[0])
    events = [
        _event(1, focus, "support_contact", reason="cancellation", channel="phone"),
        _event(2, focus, "plan_change", changes=_risky_changes(customers[focus])),
    ]
    produce_events(lane, events)
    total, _, metrics = run_consumer(lane, scorer)

    assert total == 2
    rows = _rows(lane)
    assert [r["event_id"] for r in rows] == ["t-1", "t-2"]
    assert rows[0]["cause"] == "support_contact: cancellation"
    assert rows[1]["cause"].startswith("plan_change: Contract")
    assert rows[0]["churn_probability"] == pytest.approx(before, abs=1e-9)
    assert rows[1]["previous_probability"] == pytest.approx(before, abs=1e-9)
    after = rows[1]["churn_probability"]
    assert after - before >= lane.knobs.alert_rise  # the risky plan raised the risk
    assert all(r["done"] for r in rows)
    assert _logged(lane) == ["ev:t-1", "ev:t-2"]
    online = _online(lane, [focus])[focus]
    assert online["Contract"] == "Month-to-month"
    assert online["PaymentMethod"] == "Electronic check"
    alerts = [json.loads(m.value()) for m in read_topic(lane, lane.knobs.alerts_topic, 2)]
    assert [(a["event_id"], a["reason"]) for a in alerts] == [
        ("t-1", "cancellation_call"),
        ("t-2", rows[1]["alert"]),
    ]
    assert rows[1]["alert"] in ("crossed", "rose")
    assert alerts[1]["churn_probability"] == pytest.approx(after)
    assert alerts[1]["customerID"] == focus
    assert counter(metrics, "churn_events_rescored_total") == 2
    assert counter(metrics, "churn_events_alerts_total", reason="cancellation_call") == 1


def _frame(record: dict[str, Any]) -> Any:
    import pandas as pd

    from churn.feature_store.predict import typed

    return typed(pd.DataFrame([record]))


def test_one_customer_s_events_apply_in_the_order_they_were_sent(
    lane: Lane, scorer: Any, customers: dict[str, Any]
) -> None:
    ids = list(customers)[:12]
    months = 30
    events = [_bill(m * 100 + k, customer, m) for m in range(1, months + 1)
              for k, customer in enumerate(ids)]  # fmt: skip
    produce_events(lane, events)
    total, _, _ = run_consumer(lane, scorer)

    assert total == len(events)
    online = _online(lane, ids)
    assert {i: online[i]["tenure"] for i in ids} == {i: months for i in ids}
    assert {i: online[i]["TotalCharges"] for i in ids} == {i: 100.0 * months for i in ids}
    handled: dict[str, list[str]] = {}
    for row in _rows(lane):
        handled.setdefault(row[ID_COLUMN], []).append(row["event_id"])
    sent = {i: [e["event_id"] for e in events if e["customerID"] == i] for i in ids}
    assert handled == sent  # each customer's events recorded in the order produced


def test_poison_events_go_to_the_dead_letter_topic_and_the_rest_goes_on(
    lane: Lane, scorer: Any, customers: dict[str, Any]
) -> None:
    first, second = list(customers)[:2]
    no_internet = next(i for i in customers if customers[i]["InternetService"] == "No")
    poison = [
        "this is not JSON",
        json.dumps(_event(2, first, "bill", amount=-5.0, total_to_date=1.0, months_billed=1)),
        json.dumps({**_event(3, first, "support_contact", reason="cancellation"), "version": 2}),
        json.dumps(_event(4, "NO-SUCH-CUSTOMER", "support_contact", reason="billing")),
        json.dumps(_event(5, no_internet, "plan_change", changes={"TechSupport": "Yes"})),
    ]
    good = [_bill(10, first, 7), _bill(11, second, 9)]
    produce_events(lane, [poison[0], poison[1], good[0], *poison[2:], good[1]])
    total, _, metrics = run_consumer(lane, scorer)

    assert total == 7
    dead = read_topic(lane, lane.knobs.dead_letter_topic, 5)
    reasons = {json.loads(m.value())["event"]: json.loads(m.value())["reason"] for m in dead}
    assert len(dead) == 5 and set(reasons) == set(poison)
    assert reasons[poison[0]].startswith("not JSON")
    assert reasons[poison[1]] == "amount: Input should be greater than or equal to 0"
    assert reasons[poison[2]].startswith("version: unsupported event version 2")
    assert reasons[poison[3]].startswith("unknown customerID")
    assert reasons[poison[4]].startswith("TechSupport: must be 'No internet service'")
    headers = dict(dead[0].headers() or [])
    assert headers["churn-error"].decode() == json.loads(dead[0].value())["reason"]
    assert [r["event_id"] for r in _rows(lane)] == ["t-10", "t-11"]
    assert _online(lane, [first])[first]["tenure"] == 7
    assert counter(metrics, "churn_events_dead_letters_total") == 5


def test_a_restart_resumes_from_the_committed_offset(
    lane: Lane, scorer: Any, customers: dict[str, Any]
) -> None:
    ids = list(customers)[:10]
    first = [_bill(n, ids[n % 10], 1 + n // 10) for n in range(300)]
    produce_events(lane, first)
    total, _, _ = run_consumer(lane, scorer)
    assert total == 300
    later = [_bill(n, ids[n % 10], 1 + n // 10) for n in range(300, 400)]
    produce_events(lane, later)
    total, _, metrics = run_consumer(lane, scorer)  # the same group, a new consumer

    assert total == 100  # only what came after the commit
    assert counter(metrics, "churn_events_duplicates_total") == 0
    assert len(_rows(lane)) == 400
    assert {r["tenure"] for r in _online(lane, ids).values()} == {40}


def test_a_consumer_killed_mid_batch_loses_no_event_and_doubles_none(
    lane: Lane, scorer: Any, customers: dict[str, Any], model_tag: str
) -> None:
    """The real command, killed with SIGKILL while it works; the group's next consumer finishes
    the topic from the last committed offset, skipping what the first had finished."""
    ids = list(customers)
    n_events = 3000
    events = [_bill(n, ids[n % len(ids)], 1 + n // len(ids)) for n in range(n_events)]
    cancel = [_event(n_events + k, ids[k], "support_contact", reason="cancellation")
              for k in range(40)]  # fmt: skip
    produce_events(lane, events + cancel)
    env = {**os.environ, **lane.env, "CHURN_KAFKA_BATCH": "50", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "churn.cli", "events", "consume", "--model", model_tag]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(_rows(lane)) < 600:
        assert first.poll() is None, first.communicate()[0].decode()[-3000:]
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = len(_rows(lane))
    assert 600 <= killed_at < n_events  # it was killed in the middle of the topic

    total, _, metrics = run_consumer(lane, scorer, idle_exit_s=4.0)  # the group's next member
    assert total >= n_events + len(cancel) - killed_at  # all that was not done, at least
    rows = _rows(lane)
    produced = [e["event_id"] for e in events + cancel]
    assert sorted(r["event_id"] for r in rows) == sorted(produced)  # each once: none lost
    assert sorted(_logged(lane)) == sorted("ev:" + e for e in produced)  # each logged once
    assert all(r["done"] for r in rows)
    online = _online(lane, ids)
    last = {e["customerID"]: e["months_billed"] for e in events}
    assert {i: online[i]["tenure"] for i in ids} == last  # every bill applied, in order
    alerts = [json.loads(m.value())["event_id"]
              for m in read_topic(lane, lane.knobs.alerts_topic, 40)]  # fmt: skip
    alerted = {r["event_id"] for r in rows if r["alert"]}
    assert set(alerts) == alerted and len(alerted) >= 40
    assert counter(metrics, "churn_events_duplicates_total") + killed_at >= 0
