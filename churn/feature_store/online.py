"""Customers by ID from the online store: the framework-free API the service's by-ID routes call.

`online_records(ids, settings)` makes one batched online read (on Redis one HMGET per customer,
pipelined, on a pooled client; on the embedded SQLite store one Feast call) and answers the
records exactly as they were ingested (the 19 inputs, typed by the row validator, and the
customerID), with the time of the extract each came from. It
refuses the whole read with a typed error the service maps to a status:

- `UnknownCustomer` (404): IDs the store has no attributes for, all of them named;
- `StaleFeatures` (4xx): attributes older than `CHURN_FEATURE_MAX_AGE_HOURS`, and how old;
- `StoreUnavailable` (503 + Retry-After): the online store (or registry) cannot be read; it names
  the store, never its password.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from churn.feature_store.config import ENTITY_KEY_VERSION, Locations, feature_store
from churn.schema import FEATURE_NAMES, ID_COLUMN
from churn.settings import Settings
from feature_repo import import_feast
from feature_repo.customer import PROJECT, VIEWS, feature_refs

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
        if loc.online:  # Redis: one pooled HMGET per customer, no Feast call on the way
            response = redis_read(loc.online, ids)
        else:
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
        if loc.online and not _registered(settings, loc):
            raise EmptyStore(list(dict.fromkeys(ids)))
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


def _registered(settings: Settings, loc: Locations) -> bool:
    """Whether the views were ever registered (an unknown ID in an empty store says so)."""
    from feast.errors import FeastObjectNotFoundException

    try:
        feature_store(settings).get_feature_view(next(iter(VIEWS)))
    except FeastObjectNotFoundException:
        return False
    except _store_errors() as exc:
        raise StoreUnavailable(loc.online_name(), _reason(exc)) from exc
    return True


class _RedisReader:
    """Reads the customer hashes Feast's Redis online store writes, straight through one pooled
    client: Feast's `get_online_features` cost ~5 ms a call (registry, protobuf plumbing, three
    reads), the hash is one HMGET. The key is Feast's (`serialize_entity_key` of the entity, then
    the project), the fields are the murmur3 hashes of `view:feature` and `_ts:view`, the values
    Feast's `Value` and `Timestamp` protobufs (tests/feature_store/test_servers.py reads both
    ways and compares)."""

    def __init__(self, url: str) -> None:
        import mmh3
        import redis

        from churn.feature_store.config import CONNECT_TIMEOUT_S

        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S
        )
        view_of = {col: view for view, cols in VIEWS.items() for col in cols}
        self.fields: list[bytes | str] = [
            mmh3.hash(f"{view_of[f]}:{f}", signed=False).to_bytes(4, "little")
            for f in FEATURE_NAMES
        ]  # Feast's `_mmh3`: the unsigned 32-bit hash, little endian
        self.fields += [f"_ts:{view}" for view in VIEWS]
        n, views = len(FEATURE_NAMES), list(VIEWS)
        self.stamp_of = [n + views.index(view_of[f]) for f in FEATURE_NAMES]
        """Where each feature's view's `_ts` field is in a reply."""

    def key(self, customer_id: str) -> bytes:
        from feast.infra.key_encoding_utils import serialize_entity_key
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        entity = EntityKey(join_keys=[ID_COLUMN], entity_values=[Value(string_val=customer_id)])
        return serialize_entity_key(entity, ENTITY_KEY_VERSION) + PROJECT.encode()

    def read(self, ids: Sequence[str]) -> dict[str, list[Any]]:
        """Feast's `to_dict(include_event_timestamps=True)` layout: each feature's values (None
        where absent) and `feature__ts`, its view's event time in whole seconds (0 if absent)."""
        from feast.protos.feast.types.Value_pb2 import Value
        from feast.type_map import feast_value_type_to_python_type
        from google.protobuf.timestamp_pb2 import Timestamp

        replies: list[Any]  # HMGET by name: Feast's keys are bytes, which `hmget`'s type refuses
        if len(ids) == 1:
            replies = [self.client.execute_command("HMGET", self.key(ids[0]), *self.fields)]
        else:
            with self.client.pipeline(transaction=False) as pipe:
                for i in ids:
                    pipe.execute_command("HMGET", self.key(i), *self.fields)
                replies = pipe.execute()
        out: dict[str, list[Any]] = {f: [] for f in FEATURE_NAMES}
        out |= {f + "__ts": [] for f in FEATURE_NAMES}
        for reply in replies:
            for k, name in enumerate(FEATURE_NAMES):
                raw, stamp = reply[k], reply[self.stamp_of[k]]
                value = None if raw is None else Value.FromString(raw)
                out[name].append(None if value is None else feast_value_type_to_python_type(value))
                out[name + "__ts"].append(Timestamp.FromString(stamp).seconds if stamp else 0)
        return out


_readers: dict[str, _RedisReader] = {}
_readers_lock = threading.Lock()


def redis_read(url: str, ids: Sequence[str]) -> dict[str, list[Any]]:
    """The IDs' values and times from the Redis online store at `url` (one client per URL and
    process, its connections pooled and shared by the service's threads)."""
    reader = _readers.get(url)
    if reader is None:
        with _readers_lock:
            reader = _readers.setdefault(url, _RedisReader(url))
    return reader.read(ids)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
