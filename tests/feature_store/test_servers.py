"""The by-ID API (`churn.feature_store.online.online_records`) on the production stores: Redis
online, PostgreSQL offline store and registry, all on loopback. One store for the module: one
ingest, one materialize; the cases read it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from churn.feature_store.config import feature_store, forget_stores
from churn.feature_store.ingest import ingest_file
from churn.feature_store.offline import known, materialize, records_as_of, training_set
from churn.feature_store.online import (
    StaleFeatures,
    StoreUnavailable,
    UnknownCustomer,
    online_records,
)
from churn.schema import FEATURE_NAMES, ID_COLUMN, CustomerRecord
from churn.settings import Settings
from tests.feature_store.conftest import CUSTOMERS, records, write_extract
from tests.fixtures.ports import free_port
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.redis import RedisServer

AS_OF = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)


@dataclasses.dataclass(frozen=True)
class Stores:
    settings: Settings
    postgres: PostgresServer
    database: str


@pytest.fixture(scope="module")
def stores(
    redis_server: RedisServer,
    postgres_server: PostgresServer,
    customers: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> Stores:
    database = postgres_server.create_database()
    url = postgres_server.url(database) + "?sslmode=disable"
    settings = Settings(
        feature_dir=tmp_path_factory.mktemp("features"),
        feature_online_store=redis_server.url(db=1),
        feature_offline_store=url,
        feature_registry=url,
        feature_max_age_hours=24,
    )
    extract = write_extract(tmp_path_factory.mktemp("extract") / "x.csv", customers, bad_rows=True)
    report = ingest_file(extract, AS_OF, settings, chunk_rows=16)  # three chunks
    assert (report.rows, report.accepted, report.rejected) == (CUSTOMERS + 2, CUSTOMERS, 2)
    materialize(settings)
    return Stores(settings, postgres_server, database)


def _fitted_model(customers: pd.DataFrame) -> Any:
    from churn.training.candidates import build_pipeline

    model = build_pipeline("logistic_regression", seed=0)
    return model.fit(customers[list(FEATURE_NAMES)], customers["Churn"].astype(int))


def test_by_id_records_are_the_ingested_records_and_score_the_same(
    stores: Stores, customers: pd.DataFrame
) -> None:
    ids = customers[ID_COLUMN].tolist()
    asked = [ids[5], ids[0], ids[5], ids[-1]]  # any order, repeats
    got, as_of = online_records(asked, stores.settings)
    expected = records(customers)
    assert got == [expected[i] for i in asked]
    assert as_of == [AS_OF] * 4
    model = _fitted_model(customers)

    def proba(rows: list[dict[str, Any]]) -> np.ndarray:
        frame = pd.DataFrame([CustomerRecord.model_validate(r).features() for r in rows])
        return np.asarray(model.predict_proba(frame)[:, 1])

    np.testing.assert_allclose(proba(got), proba([expected[i] for i in asked]), rtol=0, atol=1e-9)


def test_unknown_ids_are_all_named(stores: Stores, customers: pd.DataFrame) -> None:
    known_id = customers[ID_COLUMN].iloc[0]
    with pytest.raises(UnknownCustomer) as caught:
        online_records(["NOPE-1", known_id, "BAD-TENURE", "NOPE-1"], stores.settings)
    assert caught.value.ids == ["NOPE-1", "BAD-TENURE"]
    assert str(caught.value) == "unknown customerID: NOPE-1, BAD-TENURE"


def test_stale_attributes_say_how_old(stores: Stores, customers: pd.DataFrame) -> None:
    later = AS_OF + dt.timedelta(hours=30)
    with pytest.raises(StaleFeatures) as caught:
        online_records([customers[ID_COLUMN].iloc[0]], stores.settings, now=later)
    assert caught.value.age_hours == pytest.approx(30.0)
    assert caught.value.max_age_hours == 24
    message = str(caught.value)
    assert "30.0 hours old" in message and "CHURN_FEATURE_MAX_AGE_HOURS" in message


def test_a_down_online_store_is_named_without_its_password(
    stores: Stores, customers: pd.DataFrame
) -> None:
    port = free_port()  # nothing listens there
    down = stores.settings.model_copy(
        update={"feature_online_store": f"redis://:s3cret@127.0.0.1:{port}/0"}
    )
    with pytest.raises(StoreUnavailable) as caught:
        online_records([customers[ID_COLUMN].iloc[0]], down)
    assert caught.value.store == f"redis://:***@127.0.0.1:{port}/0"
    assert caught.value.retry_after_s > 0
    assert "s3cret" not in str(caught.value) and "ConnectionError" in str(caught.value)


def test_the_registry_and_offline_store_live_in_postgresql(
    stores: Stores, customers: pd.DataFrame, tmp_path: Path
) -> None:
    rows = stores.postgres.psql("SELECT count(*) FROM customer_features", stores.database)
    assert int(rows) == CUSTOMERS
    forget_stores()  # a fresh process: the views come from the PostgreSQL registry
    views = sorted(v.name for v in feature_store(stores.settings).list_feature_views())
    assert views == ["account", "billing", "services"]
    ids = customers[ID_COLUMN].tolist()[:3]
    frame = records_as_of([*ids, "NOPE"], AS_OF, stores.settings)
    assert known(frame).tolist() == [True, True, True, False]
    assert frame["MonthlyCharges"].tolist()[:3] == customers["MonthlyCharges"].tolist()[:3]
    before = records_as_of(ids, AS_OF - dt.timedelta(seconds=1), stores.settings)
    assert not known(before).any()
    labels = tmp_path / "labels.csv"
    observed = (AS_OF + dt.timedelta(minutes=1)).isoformat()
    pd.DataFrame({ID_COLUMN: ids, "Churn": "Yes", "observed_at": observed}).to_csv(labels)
    labels.write_text(pd.read_csv(labels, index_col=0).to_csv(index=False))
    report = training_set(labels, tmp_path / "set.parquet", stores.settings)
    assert (report.rows, report.written, report.missing) == (3, 3, [])
    got = pd.read_parquet(tmp_path / "set.parquet")
    assert got[ID_COLUMN].tolist() == ids and got["tenure"].dtype == np.int64


def test_predict_ids_scores_as_predict_does_on_the_records(
    stores: Stores, customers: pd.DataFrame, tmp_path: Path
) -> None:
    """`churn predict --ids` (blocks of 16 IDs from the PostgreSQL offline store) gives each known
    ID the probability `churn predict` gives its full record; unknown IDs go to the errors file."""
    from churn.batch.stream import predict_file
    from churn.feature_store.predict import predict_ids

    model = _fitted_model(customers)

    def proba(frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict_proba(frame[list(FEATURE_NAMES)])[:, 1])

    ids = [*customers[ID_COLUMN].tolist()[::-1], "NOPE-9"]
    pd.DataFrame({ID_COLUMN: ids}).to_csv(tmp_path / "ids.csv", index=False)
    report = predict_ids(
        tmp_path / "ids.csv", tmp_path / "by_id.csv", tmp_path / "errors.csv", proba, 0.5,
        dt.datetime.now(dt.UTC), stores.settings, block=16,
    )  # fmt: skip
    assert (report.ids, report.scored, report.unknown) == (CUSTOMERS + 1, CUSTOMERS, 1)
    assert pd.read_csv(tmp_path / "errors.csv")[ID_COLUMN].tolist() == ["NOPE-9"]
    write_extract(tmp_path / "records.csv", customers)
    predict_file(tmp_path / "records.csv", tmp_path / "full.csv", tmp_path / "e.csv", proba, 0.5)
    by_id = pd.read_csv(tmp_path / "by_id.csv").set_index(ID_COLUMN)
    full = pd.read_csv(tmp_path / "full.csv").set_index(ID_COLUMN).loc[ids[:-1]]
    assert by_id.index.tolist() == ids[:-1]
    np.testing.assert_allclose(by_id["churn_probability"], full["churn_probability"], atol=1e-9)
    assert (by_id["churn_prediction"] == full["churn_prediction"]).all()


def test_the_direct_redis_read_is_feasts_online_read(
    stores: Stores, customers: pd.DataFrame
) -> None:
    """The service's by-ID read (one HMGET per customer on Feast's keys) answers what Feast's
    `get_online_features` answers, values and times, unknown IDs included."""
    from churn.feature_store.online import redis_read
    from feature_repo.customer import feature_refs

    ids = [*customers[ID_COLUMN].tolist(), "NOPE-2"]
    assert stores.settings.feature_online_store is not None
    ours = redis_read(stores.settings.feature_online_store, ids)
    feast = (
        feature_store(stores.settings)
        .get_online_features(features=feature_refs(), entity_rows=[{ID_COLUMN: i} for i in ids])
        .to_dict(include_event_timestamps=True)
    )
    assert ours == {k: v for k, v in feast.items() if not k.startswith(ID_COLUMN)}
    assert ours["tenure"][-1] is None and ours["tenure__ts"][0] == int(AS_OF.timestamp())


def test_an_empty_store_says_what_to_run(redis_server: RedisServer, tmp_path: Path) -> None:
    """Nothing ever ingested (no views in the registry, nothing in Redis): every ID asked is
    unknown, and the answer says to ingest and materialize."""
    from churn.feature_store.online import EmptyStore

    empty = Settings(feature_dir=tmp_path / "none", feature_online_store=redis_server.url(db=9))
    with pytest.raises(EmptyStore) as caught:
        online_records(["A-1", "B-2"], empty)
    assert caught.value.ids == ["A-1", "B-2"]
    assert "run `churn features ingest` and `churn features materialize`" in str(caught.value)
