"""Outcomes: the one validator, the store (SQLite and PostgreSQL), the join to predictions, the
realized metrics and the automatic-rollback rule, all without ZenML."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.metrics import brier_score_loss, precision_score, recall_score, roc_auc_score

from churn.db import HEAD, current_revision
from churn.db.outcomes import engine_for, read, store
from churn.monitoring.realized import (
    join_outcomes,
    metrics_of,
    read_predictions,
    realized_metrics,
    roc_auc,
)
from churn.monitoring.rollback import RollbackRule, decide_rollback
from churn.monitoring.window import read_window
from churn.outcomes import MAX_BATCH, Outcome, OutcomeInputError, read_csv, validate_body
from churn.privacy import customer_key
from churn.schema import EXAMPLE_RECORD
from tests.fixtures.postgres import migrated
from tests.monitoring.helpers import log_table

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


# -- the validator ---------------------------------------------------------------------------


def test_body_is_validated_and_every_bad_item_is_named() -> None:
    good = {"customerID": "A-1", "churned": True, "observed_at": "2026-11-01T10:00:00Z"}
    items = validate_body({"outcomes": [good, {"customerID": "B", "churned": False}]})
    assert items[0].observed_at == dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    assert items[1].observed_at is None
    with pytest.raises(OutcomeInputError) as caught:
        validate_body(
            {
                "outcomes": [
                    good,
                    {"customerID": "", "churned": "yes"},
                    {"customerID": "C", "churned": True, "observed_at": "2999-01-01T00:00:00Z"},
                    {"customerID": "D", "churned": True, "extra": 1},
                ]
            }
        )
    found = {(tuple(p.loc), p.msg.split(",")[0]) for p in caught.value.problems}
    locs = {loc for loc, _ in found}
    assert ("body", "outcomes", 1, "customerID") in locs
    assert ("body", "outcomes", 1, "churned") in locs
    assert (("body", "outcomes", 2, "observed_at"), "is in the future") in found
    assert (("body", "outcomes", 3, "extra"), "unknown field") in found


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        ([], ("body",), "must be a JSON object"),
        ({"outcomes": []}, ("body", "outcomes"), "must hold 1 to 10000 outcomes, got 0"),
        ({"outcomes": "x"}, ("body", "outcomes"), "must be a list"),
        ({"outcomes": [{}], "more": 1}, ("body", "more"), "unknown field"),
        ({"outcomes": [3]}, ("body", "outcomes", 0), "must be an object"),
    ],
)
def test_body_shape_problems(body: object, loc: tuple, msg: str) -> None:
    with pytest.raises(OutcomeInputError) as caught:
        validate_body(body)
    assert (caught.value.problems[0].loc, caught.value.problems[0].msg) == (loc, msg)


def test_body_over_the_batch_limit_is_refused() -> None:
    item = {"customerID": "A", "churned": True}
    with pytest.raises(OutcomeInputError, match=f"got {MAX_BATCH + 1}"):
        validate_body({"outcomes": [item] * (MAX_BATCH + 1)})


def test_csv_rows_and_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        "customerID,Churn,observed_at\n"
        "A,Yes,2026-11-01T00:00:00+01:00\n"
        ",No,\n"
        "C,Maybe,\n"
        "D,No,not-a-date\n"
    )
    with pytest.raises(OutcomeInputError) as caught:
        read_csv(path)
    texts = [p.text() for p in caught.value.problems]
    assert len(texts) == 3, texts
    assert texts[0].startswith("line 3.customerID:")
    assert texts[1] == "line 4.Churn: must be Yes or No, got 'Maybe'"
    assert texts[2].startswith("line 5.observed_at:")
    path.write_text("customerID,Churn,observed_at\nA,Yes,2026-11-01T00:00:00+01:00\nB, no ,\n")
    good = read_csv(path)
    assert [(o.customerID, o.churned) for o in good] == [("A", True), ("B", False)]
    assert good[0].observed_at == dt.datetime(2026, 10, 31, 23, tzinfo=dt.UTC)
    path.write_text("id,Churn\nA,Yes\n")
    with pytest.raises(OutcomeInputError, match=r"missing column\(s\) \['customerID'\]"):
        read_csv(path)


# -- the store ---------------------------------------------------------------------------------


def _items(n: int, churned: bool = True) -> list[Outcome]:
    return [
        Outcome(customerID=f"C{i}", churned=churned, observed_at=NOW - dt.timedelta(days=1))
        for i in range(n)
    ]


def _check_store(url: str) -> None:
    engine = engine_for(url)
    try:
        assert current_revision(engine) == HEAD
        first = store(engine, _items(5), "cli", secret="s3cret")
        assert first.as_dict() == {"received": 5, "stored": 5, "duplicates": 0}
        again = store(engine, [*_items(5), *_items(7)[5:]], "api", secret="s3cret")
        assert again.as_dict() == {"received": 7, "stored": 2, "duplicates": 5}
        rows = read(engine, NOW - dt.timedelta(days=2), NOW)
        assert len(rows) == 7
        assert set(rows["customerID"]) == {customer_key(f"C{i}", "s3cret") for i in range(7)}
        assert "C0" not in set(rows["customerID"])
        assert (rows["observed_at"] == NOW - dt.timedelta(days=1)).all()
        assert read(engine, NOW - dt.timedelta(hours=1), NOW).empty
        with pytest.raises(ValueError, match="source"):
            store(engine, _items(1), "mail")
    finally:
        engine.dispose()


def test_store_is_idempotent_and_keys_customers_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    unmigrated = sa.create_engine(url)
    assert read(unmigrated).empty  # a reader never migrates: no table is no outcome
    assert not sa.inspect(unmigrated).has_table("outcomes")
    unmigrated.dispose()
    _check_store(url)


@pytest.mark.integration
def test_store_is_idempotent_and_keys_customers_on_postgres(postgres_url: str) -> None:
    _check_store(migrated(postgres_url))  # a deployment's database: `churn db migrate` first


# -- the join and the metrics ---------------------------------------------------------------


def _predictions(rows: list[tuple[str, dt.datetime, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "customerID": c,
                "created_at": t,
                "model_version": v,
                "churn_probability": p,
                "churn": p >= 0.5,
                "arm": arm,
            }
            for c, t, v, p, arm in rows
        ]
    )


def test_join_takes_the_latest_prediction_before_the_outcome_per_version_and_arm() -> None:
    day = dt.timedelta(days=1)
    preds = _predictions(
        [
            ("A", NOW - 10 * day, "1", 0.2, "champion"),
            ("A", NOW - 3 * day, "1", 0.7, "champion"),  # the latest before: this one
            ("A", NOW + day, "1", 0.9, "champion"),  # after the outcome: never
            ("A", NOW - 2 * day, "2", 0.4, "challenger"),  # the shadow arm's own
            ("B", NOW - 200 * day, "1", 0.9, "champion"),  # beyond the lookback
            ("C", NOW - day, "1", 0.1, "champion"),  # no outcome
        ]
    )
    outcomes = pd.DataFrame(
        {"customerID": ["A", "B"], "churned": [True, False], "observed_at": [NOW, NOW]}
    )
    joined = join_outcomes(preds, outcomes, dt.timedelta(days=90))
    got = {(r.customerID, r.model_version, r.arm): r.churn_probability for r in joined.itertuples()}
    assert got == {("A", "1", "champion"): 0.7, ("A", "2", "challenger"): 0.4}
    no_arm = join_outcomes(preds.drop(columns=["arm"]), outcomes, dt.timedelta(days=90))
    assert set(no_arm["arm"]) == {"champion"}
    by_version = join_outcomes(preds, outcomes, dt.timedelta(days=90), by=("model_version",))
    assert len(by_version) == 2


def _scored(n: int, seed: int, quality: float, version: str = "1") -> pd.DataFrame:
    """Joined rows whose probabilities separate the classes `quality` well (0: noise)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    p = np.clip(0.5 + quality * (y - 0.5) + rng.normal(0, 0.25, n), 0.001, 0.999)
    return pd.DataFrame(
        {
            "customerID": [f"c{i}" for i in range(n)],
            "model_version": version,
            "arm": "champion",
            "churn_probability": p,
            "churn": p >= 0.45,
            "churned": y,
        }
    )


def test_metrics_match_sklearn_with_seeded_intervals() -> None:
    rows = _scored(600, seed=1, quality=0.6)
    m = metrics_of(rows, "1", "champion", samples=300, confidence=0.9, seed=7)
    y, p, d = rows["churned"], rows["churn_probability"], rows["churn"]
    assert m.n == 600 and m.positives == int(y.sum())
    assert m.roc_auc == pytest.approx(roc_auc_score(y, p))
    assert m.precision == pytest.approx(precision_score(y, d))
    assert m.recall == pytest.approx(recall_score(y, d))
    assert m.brier == pytest.approx(brier_score_loss(y, p))
    for name in ("roc_auc", "precision", "recall", "brier"):
        interval = m.intervals[name]
        assert interval.low is not None and interval.high is not None
        assert interval.low < getattr(m, name) < interval.high, name
    again = metrics_of(rows, "1", "champion", samples=300, confidence=0.9, seed=7)
    assert again.intervals == m.intervals
    assert roc_auc(np.array([1, 1]), np.array([0.2, 0.3])) is None
    both = realized_metrics(pd.concat([rows, _scored(50, 2, 0.6, "2")]), samples=0)
    assert [(r.model_version, r.n) for r in both] == [("1", 600), ("2", 50)]


# -- the rollback rule ------------------------------------------------------------------------

RULE = RollbackRule(min_outcomes=200, min_realized_roc_auc=0.55, bootstrap_samples=300)


def test_rollback_when_production_is_clearly_worse() -> None:
    decision = decide_rollback("2", "1", _scored(800, 1, 0.15, "2"), _scored(800, 2, 0.7), RULE)
    assert decision.degraded is True
    assert decision.difference is not None and decision.difference_upper is not None
    assert decision.difference < decision.difference_upper < 0
    assert "production is worse" in decision.reason and "version 2" in decision.reason


def test_no_rollback_when_production_is_as_good() -> None:
    decision = decide_rollback("2", "1", _scored(800, 1, 0.7, "2"), _scored(800, 2, 0.7), RULE)
    assert decision.degraded is False
    assert decision.difference_upper is not None and decision.difference_upper >= 0
    assert "not shown worse" in decision.reason


def test_rollback_under_the_floor_even_without_a_comparison() -> None:
    noise = _scored(400, 3, 0.0, "2")
    decision = decide_rollback("2", None, noise, noise.iloc[:0], RULE)
    assert decision.degraded is True and "under the floor" in decision.reason
    both = decide_rollback("2", "1", noise, _scored(800, 2, 0.7), RULE)
    assert both.degraded is True and both.previous_roc_auc is not None
    assert "production is worse" in both.reason and "under the floor" in both.reason
    relaxed = RollbackRule(min_outcomes=200, min_realized_roc_auc=None, bootstrap_samples=50)
    assert decide_rollback("2", None, noise, noise.iloc[:0], relaxed).degraded is False


def test_never_on_fewer_than_min_outcomes() -> None:
    few = _scored(150, 1, 0.0, "2")
    decision = decide_rollback("2", "1", few, _scored(800, 2, 0.9), RULE)
    assert decision.degraded is None
    assert "150 < min_outcomes 200" in decision.reason
    one_class = _scored(300, 1, 0.5, "2").assign(churned=False)
    assert decide_rollback("2", "1", one_class, _scored(800, 2, 0.9), RULE).degraded is None


# -- reading the prediction log ------------------------------------------------------------------


def _log_with_serving_state(url: str) -> sa.Table:
    """The contract's log plus the `arm` and `served` columns the serving-state migration adds."""
    metadata = sa.MetaData()
    table = log_table(metadata)
    table.append_column(sa.Column("arm", sa.String(16)))
    table.append_column(sa.Column("served", sa.Boolean))
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    rows = []
    for i, (arm, served) in enumerate([("champion", True)] * 6 + [("challenger", False)] * 4):
        rows.append(
            {
                **EXAMPLE_RECORD,
                "customerID": f"C{i % 6}",
                "request_id": uuid.uuid4().hex,
                "created_at": (NOW - dt.timedelta(hours=i)).replace(tzinfo=None),
                "model_version": "1" if served else "2",
                "churn_probability": 0.6,
                "churn": True,
                "arm": arm,
                "served": served,
            }
        )
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    engine.dispose()
    return table


def test_drift_window_reads_served_rows_and_realized_reads_every_arm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    _log_with_serving_state(url)
    window = read_window(url, 100)
    assert len(window) == 6
    later = NOW + dt.timedelta(minutes=1)
    predictions = read_predictions(url, NOW - dt.timedelta(days=1), later)
    assert len(predictions) == 10
    assert set(predictions["arm"]) == {"champion", "challenger"}
    assert len(read_predictions(url, NOW - dt.timedelta(hours=3, minutes=30), later)) == 4
    assert len(read_predictions(url, NOW - dt.timedelta(hours=3, minutes=30), NOW)) == 3


def test_realized_reads_only_the_customers_with_outcomes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the customer index, a batch of ids at a time: the same rows for any batch size."""
    import churn.monitoring.realized as realized

    url = f"sqlite:///{tmp_path / 'log.db'}"
    _log_with_serving_state(url)
    since, later = NOW - dt.timedelta(days=1), NOW + dt.timedelta(minutes=1)
    everyone = read_predictions(url, since, later)
    wanted = everyone[everyone["customerID"].isin(["C1", "C4"])]
    for batch in (5000, 1):
        monkeypatch.setattr(realized, "FETCH_CUSTOMERS", batch)
        some = read_predictions(url, since, later, customers=["C4", "C1", "C1", "nobody"])
        key = ["customerID", "created_at", "arm"]
        assert sorted(some[key].itertuples(index=False)) == sorted(
            wanted[key].itertuples(index=False)
        )
        assert len(some) == 3
    assert read_predictions(url, since, later, customers=[]).empty


# -- what the run exports ------------------------------------------------------------------------


def test_realized_gauges_and_the_dashboard_table(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from frontends.streamlit_app.drift import load_realized
    from steps.monitoring.prometheus import write_realized_metrics

    rows = pd.concat(
        [_scored(300, 1, 0.6, "1"), _scored(200, 2, 0.1, "2").assign(arm="challenger")]
    )
    metrics = [m.as_dict() for m in realized_metrics(rows, samples=50)]
    decision = decide_rollback("2", "1", _scored(300, 1, 0.1, "2"), _scored(300, 2, 0.7), RULE)
    realized = {
        "window_days": 30,
        "metrics": metrics,
        "decision": decision.as_dict(),
        "rollback": {"performed": True},
        "offline_test_metrics": {"1": {"roc_auc": 0.84}},
    }
    path = write_realized_metrics(tmp_path, realized)
    samples = {
        (s.name, s.labels.get("model_version"), s.labels.get("arm")): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }
    assert samples[("churn_realized_n", "2", "challenger")] == 200
    assert samples[("churn_realized_roc_auc", "1", "champion")] == pytest.approx(
        metrics[0]["roc_auc"]
    )
    assert samples[("churn_realized_degraded", None, None)] == 1
    assert samples[("churn_auto_rollback", None, None)] == 1

    (tmp_path / "drift" / "realized.json").write_text(json.dumps(realized))
    run, table = load_realized(tmp_path)
    assert run["decision"]["degraded"] is True
    assert list(table["model_version"]) == ["1", "2"]
    assert list(table["offline_roc_auc"].fillna(-1)) == [0.84, -1]
    (tmp_path / "drift" / "realized.json").write_text("{half")
    assert load_realized(tmp_path)[1].empty
