"""Customers by ID from the online store: the framework-free API the service's by-ID routes call.

`online_records(ids, settings)` makes one batched online read (one Feast call, one round trip to
Redis per feature view) and answers the records exactly as they were ingested (the 19 inputs,
typed by the row validator, and the customerID), with the time of the extract each came from. It
refuses the whole read with a typed error the service maps to a status:

- `UnknownCustomer` (404): IDs the store has no attributes for, all of them named;
- `StaleFeatures` (4xx): attributes older than `CHURN_FEATURE_MAX_AGE_HOURS`, and how old;
- `StoreUnavailable` (503 + Retry-After): the online store (or registry) cannot be read; it names
  the store, never its password.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Any

from churn.feature_store.config import Locations, feature_store
from churn.schema import FEATURE_NAMES, ID_COLUMN
from churn.settings import Settings
from feature_repo import import_feast
from feature_repo.customer import feature_refs

RETRY_AFTER_S = 5
"""What a 503 tells the client to wait before trying again."""


class FeatureStoreError(Exception):
    """A by-ID read that cannot be answered; the message is fit for a client."""


class UnknownCustomer(FeatureStoreError):
    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = list(ids)
        super().__init__(f"unknown {ID_COLUMN}: {', '.join(self.ids)}")


class EmptyStore(UnknownCustomer):
    """Nothing was ever ingested and materialized here: every ID is unknown, and the operator is
    told what to run."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(ids)
        self.args = (
            f"{self.args[0]} (the feature store holds no customers yet: run `churn features "
            "ingest` and `churn features materialize`)",
        )


class StaleFeatures(FeatureStoreError):
    def __init__(self, ids: Sequence[str], age_hours: float, max_age_hours: float) -> None:
        self.ids = list(ids)
        self.age_hours = age_hours
        self.max_age_hours = max_age_hours
        super().__init__(
            f"the attributes of {', '.join(self.ids)} are {age_hours:.1f} hours old, older than "
            f"the {max_age_hours:g} allowed (CHURN_FEATURE_MAX_AGE_HOURS): ingest and "
            "materialize a newer extract"
        )


class StoreUnavailable(FeatureStoreError):
    def __init__(self, store: str, reason: str) -> None:
        self.store = store
        self.retry_after_s = RETRY_AFTER_S
        super().__init__(f"the feature store {store} is unavailable: {reason}")


def _store_errors() -> tuple[type[BaseException], ...]:
    """What a down store raises through Feast: Redis, SQLite, PostgreSQL (registry), sockets."""
    import psycopg
    import redis
    import sqlalchemy.exc

    return (
        redis.RedisError,
        sqlite3.Error,
        psycopg.Error,
        sqlalchemy.exc.OperationalError,
        OSError,
    )


def online_records(
    ids: Sequence[str], settings: Settings, now: dt.datetime | None = None
) -> tuple[list[dict[str, Any]], list[dt.datetime]]:
    """(one record per ID, in order: `customerID` and the 19 inputs; the UTC time of the extract
    each record's attributes come from, the oldest of its views'). Raises the errors above."""
    import_feast()
    from feast.errors import FeastObjectNotFoundException

    if not ids:
        return [], []
    loc = Locations.of(settings)
    try:
        store = feature_store(settings)
        response = store.get_online_features(
            features=feature_refs(), entity_rows=[{ID_COLUMN: i} for i in ids]
        ).to_dict(include_event_timestamps=True)
    except _store_errors() as exc:
        raise StoreUnavailable(loc.online_name(), _reason(exc)) from exc
    except FeastObjectNotFoundException as exc:  # no feature views registered: never ingested
        raise EmptyStore(list(dict.fromkeys(ids))) from exc
    unknown = [
        i for n, i in enumerate(ids) if any(response[f][n] is None for f in FEATURE_NAMES)
    ]  # fmt: skip
    if unknown:
        raise UnknownCustomer(list(dict.fromkeys(unknown)))
    stamps = [min(response[f + "__ts"][n] for f in FEATURE_NAMES) for n in range(len(ids))]
    as_of = [dt.datetime.fromtimestamp(s, dt.UTC) for s in stamps]
    now = now or dt.datetime.now(dt.UTC)
    limit = settings.feature_max_age_hours
    ages = [(now - t).total_seconds() / 3600 for t in as_of]
    stale = [i for i, age in zip(ids, ages, strict=True) if age > limit]
    if stale:
        raise StaleFeatures(list(dict.fromkeys(stale)), max(ages), limit)
    records = [
        {ID_COLUMN: i, **{f: response[f][n] for f in FEATURE_NAMES}} for n, i in enumerate(ids)
    ]
    return records, as_of


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
