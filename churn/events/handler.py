"""One batch of customer events, handled: features updated, customers re-scored, causes logged.

`Handler.handle(events)` does everything but talk to Kafka, in an order that makes redelivery
harmless (docs/events.md, "Delivery"):

1. skip the events the project database says are done (and repeats within the batch);
2. read the batch's customers from the online store in one call, apply each customer's events in
   order (each judged by the one record validator: a record it would break, or a customer the
   store does not know, is rejected with the reason, for the dead-letter topic);
3. re-score every new event's record, and the record before it, with the production model in one
   call; decide the alerts (crossed the threshold, rose by `alert_rise`, a cancellation call);
4. record the events (not done yet) and their prediction-log rows in one transaction;
5. write the customers' new records to the online store (only the feature views that changed).

The caller then publishes `Outcome.alerts` and calls `finish(outcome)`, which marks the events
done, before it commits the offsets. An event recorded but not done (the consumer died between 4
and `finish`) is finished when it comes again: its record is written again (events set states,
never increments, so that changes nothing twice) and its recorded alert is published.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from churn.db import events as store
from churn.events.contract import BadEvent, SupportContact, checked_record
from churn.feature_store.predict import typed
from churn.privacy import customer_key
from churn.schema import ID_COLUMN
from churn.settings import Settings
from feature_repo.customer import VIEWS

Reader = Callable[[Sequence[str], Settings], Mapping[str, Mapping[str, Any] | None]]
Writer = Callable[[Mapping[str, Mapping[str, Any]], Settings, Mapping[str, Sequence[str]]], None]
UNKNOWN = f"unknown {ID_COLUMN}: the feature store has no attributes for this customer"


@dataclass(frozen=True)
class Scorer:
    """The production model as `churn predict --ids` uses it (`churn.control.models`)."""

    probabilities: Callable[[pd.DataFrame], np.ndarray]
    threshold: float
    version: str


@dataclass(frozen=True)
class Alert:
    """A retention alert, published on the alerts topic keyed by customerID."""

    event_id: str
    customerID: str
    reason: str
    cause: str
    churn_probability: float
    previous_probability: float
    threshold: float
    model_version: str
    event_time: dt.datetime
    handled_at: dt.datetime

    def to_json(self) -> bytes:
        body = {**self.__dict__}
        body["event_time"] = self.event_time.isoformat()
        body["handled_at"] = self.handled_at.isoformat()
        return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class Outcome:
    """What one batch came to; `to_finish` are the event ids `finish` marks done."""

    rescored: int = 0
    skipped: int = 0
    finished: int = 0
    alerts: list[Alert] = field(default_factory=list)
    rejected: list[tuple[Any, str]] = field(default_factory=list)
    to_finish: list[str] = field(default_factory=list)


def alert_reason(
    event: Any, previous: float, current: float, threshold: float, rise: float
) -> str | None:
    """Why a re-score is an alert, or None: crossing the threshold from below, a rise of at least
    `rise`, or a support contact about cancelling (the model has no input for it)."""
    if previous < threshold <= current:
        return "crossed"
    if current - previous >= rise - 1e-12:
        return "rose"
    if isinstance(event, SupportContact) and event.reason == "cancellation":
        return "cancellation_call"
    return None


class Handler:
    """Handles batches against one online store, one model and one project database."""

    def __init__(
        self,
        settings: Settings,
        scorer: Scorer,
        engine: sa.Engine,
        reader: Reader | None = None,
        writer: Writer | None = None,
    ) -> None:
        from churn.feature_store.online_write import current_records, write_records

        knobs = settings.events
        self.settings = settings
        self.scorer = scorer
        self.engine = engine
        self.threshold = knobs.alert_threshold if knobs.alert_threshold is not None else (
            scorer.threshold)  # fmt: skip
        self.rise = knobs.alert_rise
        self.read = reader or current_records
        self.write = writer or (lambda records, s, views: write_records(records, s, views=views))

    def handle(self, events: Sequence[Any]) -> Outcome:
        out = Outcome()
        if not events:
            return out
        known = store.handled(self.engine, [e.event_id for e in events])
        seen: set[str] = set()
        todo = []
        for event in events:
            done = known.get(event.event_id)
            if event.event_id in seen or (done is not None and done.done):
                out.skipped += 1
                continue
            seen.add(event.event_id)
            todo.append(event)
        if not todo:
            return out
        current = self.read(list(dict.fromkeys(e.customerID for e in todo)), self.settings)
        records: dict[str, dict[str, Any]] = {}
        fresh: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
        now = dt.datetime.now(dt.UTC)
        for event in todo:
            base = records.get(event.customerID) or current.get(event.customerID)
            if base is None:
                out.rejected.append((event, UNKNOWN))
                continue
            try:
                after = checked_record(event, dict(base))
            except BadEvent as exc:
                out.rejected.append((event, exc.reason))
                continue
            records[event.customerID] = after
            pending = known.get(event.event_id)
            if pending is None:
                fresh.append((event, dict(base), after))
                continue
            out.finished += 1
            out.to_finish.append(event.event_id)
            if pending.alert:  # recorded before the consumer died: publish it now
                out.alerts.append(self._alert(event, pending.alert, pending.previous_probability,
                                              pending.churn_probability, now))  # fmt: skip
        if fresh:
            self._score_and_record(fresh, now, out)
        views: dict[str, list[str]] = {}
        for customer, record in records.items():
            before = current[customer] or {}
            for view, columns in VIEWS.items():
                if any(record[c] != before.get(c) for c in columns):
                    views.setdefault(view, []).append(customer)
        if views:
            self.write(records, self.settings, views)
        return out

    def finish(self, outcome: Outcome) -> None:
        """Mark the batch's events done (after its alerts are published)."""
        store.mark_done(self.engine, outcome.to_finish)

    def _score_and_record(
        self, fresh: list[tuple[Any, dict[str, Any], dict[str, Any]]], now: dt.datetime,
        out: Outcome,
    ) -> None:  # fmt: skip
        n = len(fresh)
        frame = pd.DataFrame([b for _, b, _ in fresh] + [a for _, _, a in fresh])
        proba = self.scorer.probabilities(typed(frame))
        before, after = proba[:n], proba[n:]
        key = self.settings.customer_id_key
        event_rows, log_rows = [], []
        for (event, _, record), p0, p1 in zip(fresh, before, after, strict=True):
            previous, current = float(p0), float(p1)
            reason = alert_reason(event, previous, current, self.threshold, self.rise)
            hashed = customer_key(event.customerID, key)
            event_rows.append({
                "event_id": event.event_id, ID_COLUMN: hashed, "kind": event.kind,
                "cause": event.cause[:256], "event_time": event.event_time, "handled_at": now,
                "model_version": self.scorer.version, "churn_probability": current,
                "previous_probability": previous, "alert": reason, "done": False,
            })  # fmt: skip
            log_rows.append({
                **record, ID_COLUMN: hashed, "request_id": store.request_id(event.event_id),
                "created_at": now, "model_version": self.scorer.version,
                "churn_probability": current, "churn": current >= self.scorer.threshold,
                "arm": "champion", "served": True,
            })  # fmt: skip
            out.to_finish.append(event.event_id)
            if reason:
                out.alerts.append(self._alert(event, reason, previous, current, now))
        store.record(self.engine, event_rows, log_rows)
        out.rescored += n

    def _alert(
        self, event: Any, reason: str, previous: float, current: float, now: dt.datetime
    ) -> Alert:
        return Alert(
            event.event_id, event.customerID, reason, event.cause, current, previous,
            self.threshold, self.scorer.version, event.event_time, now,
        )  # fmt: skip
