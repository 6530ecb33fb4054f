"""The online store's write path for events: read customers' current records, write new ones.

`churn events consume` reads a batch's customers in one call (`current_records`: like
`online.online_records`, but an unknown customer is None and old attributes are not refused: an
event is what makes them fresh) and writes the records the events made in one call per feature
view (`write_records`, Feast's `write_to_online_store`), stamped with the time they were written:
Feast's Redis store keeps a value only when its stamp is newer than the stored one, and one
customer's events arrive in order, so the handling time is the order that counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from churn.feature_store.config import Locations, feature_store
from churn.feature_store.online import StoreUnavailable, _reason, _store_errors
from churn.schema import FEATURE_NAMES, ID_COLUMN
from churn.settings import Settings
from feature_repo import import_feast
from feature_repo.customer import CREATED, EVENT_TIMESTAMP, VIEWS, feature_refs


def current_records(ids: Sequence[str], settings: Settings) -> dict[str, dict[str, Any] | None]:
    """customerID -> its 19 inputs in the online store (None: the store has none)."""
    import_feast()
    unique = list(dict.fromkeys(ids))
    if not unique:
        return {}
    try:
        store = feature_store(settings)
        response = store.get_online_features(
            features=feature_refs(), entity_rows=[{ID_COLUMN: i} for i in unique]
        ).to_dict()
    except _store_errors() as exc:
        raise StoreUnavailable(Locations.of(settings).online_name(), _reason(exc)) from exc
    out: dict[str, dict[str, Any] | None] = {}
    for n, customer in enumerate(unique):
        values = {f: response[f][n] for f in FEATURE_NAMES}
        out[customer] = None if any(v is None for v in values.values()) else values
    return out


def write_records(
    records: Mapping[str, Mapping[str, Any]],
    settings: Settings,
    at: dt.datetime | None = None,
    views: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Write each customer's 19 inputs to the online store, stamped `at` (default now, UTC);
    `views`: only these customers in each feature view (the views an event changed)."""
    import_feast()
    if not records:
        return
    at = at or dt.datetime.now(dt.UTC)
    try:
        store = feature_store(settings, apply=not _applied.get(Locations.of(settings), False))
        _applied[Locations.of(settings)] = True
        for view, columns in VIEWS.items():
            ids = list(records) if views is None else list(views.get(view, ()))
            if not ids:
                continue
            frame = pd.DataFrame(
                {
                    ID_COLUMN: ids,
                    **{c: [records[i][c] for i in ids] for c in columns},
                    EVENT_TIMESTAMP: [at] * len(ids),
                    CREATED: [at] * len(ids),
                }
            )
            store.write_to_online_store(view, frame)
    except _store_errors() as exc:
        raise StoreUnavailable(Locations.of(settings).online_name(), _reason(exc)) from exc


_applied: dict[Locations, bool] = {}
"""The views are registered once per process before the first write (idempotent)."""
