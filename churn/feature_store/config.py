"""The Feast configuration, built from the settings in code (no `feature_store.yaml` per
environment): each of the online store, offline store and registry is the embedded default under
`CHURN_FEATURE_DIR` unless its `CHURN_FEATURE_*` URL names a server."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from churn.settings import Settings
from feature_repo import import_feast

if TYPE_CHECKING:
    from feast import FeatureStore, RepoConfig
    from feast.data_source import DataSource

OFFLINE_TABLE = "customer_features"
"""The PostgreSQL offline store's table (one row per customer and extract)."""
SOURCE_NAME = "customer_extracts"
DEFAULT_SSLMODE = "require"
REGISTRY_CACHE_S = 60
"""How long a process trusts its copy of the registry (a new view shows within a minute)."""
ENTITY_KEY_VERSION = 3
"""Feast's entity key serialization (the online stores' keys; the Redis reader builds them too)."""
CONNECT_TIMEOUT_S = 2
"""Redis connect/read timeout: a store that is down answers in seconds, not minutes."""


@dataclass(frozen=True)
class Locations:
    """Where the three parts are: a URL each, or a path of the embedded default."""

    online: str | None
    offline: str | None
    registry: str | None
    feature_dir: Path

    @classmethod
    def of(cls, settings: Settings) -> Locations:
        return cls(
            settings.feature_online_store,
            settings.feature_offline_store,
            settings.feature_registry,
            settings.feature_dir.resolve(),
        )

    @property
    def offline_dir(self) -> Path:
        """The Parquet offline store: one file per ingested extract."""
        return self.feature_dir / "offline" / OFFLINE_TABLE

    def online_name(self) -> str:
        """The online store as an error message names it (never with its password)."""
        return redacted(self.online) if self.online else f"sqlite:{self.feature_dir / 'online.db'}"


def redacted(url: str) -> str:
    """`url` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def postgres_params(url: str) -> dict[str, Any]:
    """Host, port, database, user, password and sslmode of a `postgresql://` URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "database": unquote(parts.path.lstrip("/")) or "postgres",
        "db_schema": "public",
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "sslmode": query.get("sslmode", [DEFAULT_SSLMODE])[0],
    }


def _sqlalchemy_url(url: str) -> str:
    """The registry's URL for SQLAlchemy with psycopg 3, sslmode always explicit."""
    parts = urlsplit(url)
    query = parts.query if "sslmode=" in parts.query else "&".join(
        q for q in (parts.query, f"sslmode={DEFAULT_SSLMODE}") if q
    )  # fmt: skip
    return parts._replace(scheme="postgresql+psycopg", query=query).geturl()


def redis_connection(url: str) -> str:
    """Feast's Redis `connection_string` (`host:port,db=0,password=...`) from a URL."""
    parts = urlsplit(url)
    items = [f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"]
    db = parts.path.lstrip("/")
    items.append(f"db={int(db) if db else 0}")
    if parts.password:
        items.append(f"password={unquote(parts.password)}")
    if parts.scheme == "rediss":
        items.append("ssl=true")
    items += [f"socket_connect_timeout={CONNECT_TIMEOUT_S}", f"socket_timeout={CONNECT_TIMEOUT_S}"]
    return ",".join(items)


def repo_config(loc: Locations, *, ordered_writes: bool = False) -> RepoConfig:
    """Feast's configuration of `loc`. `ordered_writes`: the writer sends each customer's rows
    oldest first (the chunked materialize), so the Redis store may skip its read of the stored
    event time before each write (`skip_dedup`: one round trip instead of two)."""
    import_feast()
    from feast import RepoConfig

    from feature_repo.customer import PROJECT

    online: dict[str, Any]
    if loc.online:
        online = {"type": "redis", "connection_string": redis_connection(loc.online)}
        if ordered_writes:
            online["skip_dedup"] = True
    else:
        online = {"type": "sqlite", "path": str(loc.feature_dir / "online.db")}
    offline: dict[str, Any] = (
        {"type": "postgres", **postgres_params(loc.offline)} if loc.offline else {"type": "dask"}
    )
    registry: dict[str, Any] = {"cache_ttl_seconds": REGISTRY_CACHE_S}
    if loc.registry:  # a dict: Feast picks the registry's config class by its type
        registry |= {"registry_type": "sql", "path": _sqlalchemy_url(loc.registry)}
    else:
        registry |= {"registry_type": "file", "path": str(loc.feature_dir / "registry.db")}
    return RepoConfig(
        project=PROJECT,
        provider="local",
        registry=registry,
        online_store=online,
        offline_store=offline,
        repo_path=loc.feature_dir,
        entity_key_serialization_version=ENTITY_KEY_VERSION,
    )


def source(loc: Locations) -> DataSource:
    """Where the feature views read: the Parquet folder or the PostgreSQL table."""
    import_feast()
    from feast import FileSource
    from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
        PostgreSQLSource,
    )

    from feature_repo.customer import CREATED, EVENT_TIMESTAMP

    if loc.offline:
        return PostgreSQLSource(
            name=SOURCE_NAME,
            table=OFFLINE_TABLE,
            timestamp_field=EVENT_TIMESTAMP,
            created_timestamp_column=CREATED,
        )
    return FileSource(
        name=SOURCE_NAME,
        path=str(loc.offline_dir),
        timestamp_field=EVENT_TIMESTAMP,
        created_timestamp_column=CREATED,
    )


_stores: dict[Locations, FeatureStore] = {}
_lock = threading.Lock()


def feature_store(settings: Settings, *, apply: bool = False) -> FeatureStore:
    """The Feast store of these settings, opened once per process (the service reads it per
    request). `apply=True` registers the entity and views first (idempotent; the writers do)."""
    loc = Locations.of(settings)
    with _lock:
        store = _stores.get(loc)
        if store is None:
            import_feast()
            from feast import FeatureStore

            loc.feature_dir.mkdir(parents=True, exist_ok=True)
            store = FeatureStore(config=repo_config(loc))
            _stores[loc] = store
    if apply:
        from feature_repo.customer import customer, feature_views

        store.apply([customer(), *feature_views(source(loc))])
    return store


def forget_stores() -> None:
    """Drop the opened stores (tests that switch servers; a new process needs no call)."""
    with _lock:
        _stores.clear()
