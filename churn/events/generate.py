"""A day of customer events for replays, demos and the benchmark (`churn events generate`).

Events are drawn for customers of a Telco file (their records as that file holds them, which is
what `make run` ingests into the feature store), kept consistent with each customer's record as
the day goes on (a plan change never breaks the record validator), in time order. Most events
are bills, usage summaries and ordinary support contacts. The **cancellation scenario** (a share
`at_risk` of the customers, and always the first `--focus` customer): a call about cancelling,
then a plan change of the kind that precedes churn (month-to-month, electronic check, paperless,
protection and support dropped), then usage falling by half: the drift a live window sees.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from churn.schema import FEATURE_NAMES, ID_COLUMN

RISKY_PLAN = {
    "Contract": "Month-to-month",
    "PaymentMethod": "Electronic check",
    "PaperlessBilling": "Yes",
}
DROPPED_WITH_INTERNET = ("OnlineSecurity", "TechSupport", "DeviceProtection", "OnlineBackup")


def _risky_changes(record: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = dict(RISKY_PLAN)
    if record["InternetService"] != "No":
        changes |= {name: "No" for name in DROPPED_WITH_INTERNET}
        changes["InternetService"] = "Fiber optic"
    changes["MonthlyCharges"] = round(min(500.0, float(record["MonthlyCharges"]) * 1.15), 2)
    return changes


def _ordinary_change(record: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    if record["InternetService"] != "No" and rng.random() < 0.6:
        addon = str(rng.choice(["StreamingTV", "StreamingMovies", "OnlineBackup"]))
        flipped = "No" if record[addon] == "Yes" else "Yes"
        price = float(record["MonthlyCharges"]) + (5.0 if flipped == "Yes" else -5.0)
        return {addon: flipped, "MonthlyCharges": round(min(500.0, max(0.0, price)), 2)}
    contract = str(rng.choice(["One year", "Two year"]))
    return {"Contract": contract, "PaymentMethod": "Credit card (automatic)"}


def _usage(
    rng: np.random.Generator, gb: tuple[float, float], minutes: tuple[float, float]
) -> dict[str, Any]:
    return {"kind": "usage_summary", "period_days": 7, "data_gb": round(rng.uniform(*gb), 2),
            "voice_minutes": round(rng.uniform(*minutes), 1)}  # fmt: skip


def day_of_events(
    records: Mapping[str, Mapping[str, Any]],
    day: dt.date,
    events: int,
    *,
    seed: int = 0,
    at_risk: float = 0.05,
    focus: str | None = None,
) -> Iterator[dict[str, Any]]:
    """About `events` events on `day` (UTC) for the customers of `records` (customerID -> the 19
    inputs), in time order, as JSON-able dicts."""
    rng = np.random.default_rng(seed)
    ids = list(records)
    if not ids:
        return
    state = {i: {f: records[i][f] for f in FEATURE_NAMES} for i in ids}
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    drawn: list[tuple[float, str, str]] = []  # (second of the day, customer, what)
    risky = set(rng.choice(ids, size=max(0, int(len(ids) * at_risk)), replace=False).tolist())
    if focus is not None:
        risky.add(focus)
    for customer in risky:  # call, then the plan change minutes later, then the usage drop
        t = float(rng.uniform(8 * 3600, 16 * 3600))
        drawn += [(t, customer, "cancel_call"), (t + rng.uniform(30, 600), customer, "risky_plan"),
                  (t + rng.uniform(3600, 7200), customer, "usage_drop")]  # fmt: skip
    ordinary = max(0, events - len(drawn))
    kinds = rng.choice(
        ["bill", "usage_summary", "support_contact", "plan_change", "contract_end"],
        size=ordinary, p=[0.4, 0.35, 0.12, 0.08, 0.05],
    )  # fmt: skip
    customers = rng.choice(ids, size=ordinary)
    seconds = rng.uniform(0, 86_399, size=ordinary)
    drawn += list(zip(seconds.tolist(), customers.tolist(), kinds.tolist(), strict=True))
    drawn.sort(key=lambda item: item[0])
    for n, (second, customer, what) in enumerate(drawn):
        record = state[customer]
        base = {
            "version": 1,
            "event_id": f"{day:%Y%m%d}-{seed}-{n:07d}",
            "customerID": customer,
            "event_time": (start + dt.timedelta(seconds=second)).isoformat(),
        }
        body: dict[str, Any]
        if what == "cancel_call":
            body = {"kind": "support_contact", "reason": "cancellation", "channel": "phone"}
        elif what == "risky_plan":
            body = {"kind": "plan_change", "changes": _risky_changes(record)}
        elif what == "usage_drop":
            body = _usage(rng, (1, 4), (20, 80))
        elif what == "bill":
            months = int(record["tenure"]) + 1
            amount = float(record["MonthlyCharges"])
            total = round(min(100_000.0, float(record["TotalCharges"]) + amount), 2)
            body = {"kind": "bill", "amount": amount, "total_to_date": total,
                    "months_billed": min(120, months)}  # fmt: skip
        elif what == "usage_summary":
            body = _usage(rng, (5, 40), (50, 600))
        elif what == "support_contact":
            reason = str(rng.choice(["billing", "technical", "moving", "other"]))
            body = {"kind": "support_contact", "reason": reason,
                    "channel": str(rng.choice(["phone", "chat", "email"]))}  # fmt: skip
        elif what == "plan_change":
            body = {"kind": "plan_change", "changes": _ordinary_change(record, rng)}
        else:
            ends = day + dt.timedelta(days=int(rng.integers(1, 90)))
            body = {"kind": "contract_end", "ends_on": ends.isoformat()}
        if body["kind"] == "plan_change":
            record.update(body["changes"])
        elif body["kind"] == "bill":
            record |= {"MonthlyCharges": body["amount"], "TotalCharges": body["total_to_date"],
                       "tenure": body["months_billed"]}  # fmt: skip
        yield {**base, **body}


def records_of(frame: Any, limit: int | None = None) -> dict[str, dict[str, Any]]:
    """customerID -> the 19 inputs, from a cleaned Telco frame (`churn.data.load_clean`)."""
    rows = frame if limit is None else frame.head(limit)
    out: dict[str, dict[str, Any]] = {}
    for row in rows[[ID_COLUMN, *FEATURE_NAMES]].to_dict("records"):
        out[str(row[ID_COLUMN])] = {f: _plain(row[f]) for f in FEATURE_NAMES}
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def dumps(event: Mapping[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))
