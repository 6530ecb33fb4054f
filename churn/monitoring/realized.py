"""Realized metrics: how good the served predictions were, once outcomes came back.

Each outcome is joined to the LATEST prediction for the same customer made BEFORE the outcome was
observed (and at most `lookback` before it), separately for each model version and experiment arm:
a customer scored by the champion and, in shadow, by the challenger counts once for each. Per
(model_version, arm): n, positives, ROC-AUC, precision and recall of the decision that was served
(the logged `churn`), Brier score, each with a seeded bootstrap interval. Pure pandas/numpy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from churn.artifacts import RealizedFigures
from churn.db.engine import make_engine
from churn.db.tables import prediction_log
from churn.schema import ID_COLUMN

DEFAULT_ARM = "champion"
PREDICTION_COLUMNS = (ID_COLUMN, "created_at", "model_version", "churn_probability", "churn")
TABLE = prediction_log.name
METRICS = ("roc_auc", "precision", "recall", "brier")
FETCH_CUSTOMERS = 5000
"""Customer ids per `IN (...)` (SQLite allows 32,766 bound values)."""


def roc_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Mann-Whitney ROC-AUC (ties count half); None without both classes."""
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return None
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _point(y: np.ndarray, p: np.ndarray, d: np.ndarray) -> dict[str, float | None]:
    flagged = int(d.sum())
    pos = int(y.sum())
    hits = int((d & (y == 1)).sum())
    return {
        "roc_auc": roc_auc(y, p),
        "precision": hits / flagged if flagged else None,
        "recall": hits / pos if pos else None,
        "brier": float(np.mean((p - y) ** 2)) if len(y) else None,
    }


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None


class RealizedMetrics(RealizedFigures):
    intervals: dict[str, Interval] = Field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = self.model_dump()
        for name in METRICS:
            value = out[name]
            out[name] = round(value, 6) if value is not None else None
        out["intervals"] = {
            k: [None if v is None else round(v, 6) for v in (i.low, i.high)]
            for k, i in self.intervals.items()
        }
        return out


def join_outcomes(
    predictions: pd.DataFrame,
    outcomes: pd.DataFrame,
    lookback: dt.timedelta,
    by: tuple[str, ...] = ("model_version", "arm"),
) -> pd.DataFrame:
    """One row per (outcome, group of `by`): the group's latest prediction for that customer
    made strictly before `observed_at` and within `lookback`. Columns: the prediction's, plus
    `churned` and `observed_at`."""
    columns = [*PREDICTION_COLUMNS, "arm", "churned", "observed_at"]
    if predictions.empty or outcomes.empty:
        return pd.DataFrame(columns=columns)
    preds = predictions.copy()
    if "arm" not in preds.columns:
        preds["arm"] = DEFAULT_ARM
    preds["arm"] = preds["arm"].fillna(DEFAULT_ARM).astype(str)
    preds["model_version"] = preds["model_version"].astype(str)
    preds["created_at"] = _utc(preds["created_at"])
    outs = outcomes[[ID_COLUMN, "churned", "observed_at"]].copy()
    outs["observed_at"] = _utc(outs["observed_at"])
    outs = outs.sort_values("observed_at")
    joined = []
    for key, group in preds.groupby(list(by), sort=True):
        group = group.sort_values("created_at")
        matched = pd.merge_asof(
            outs,
            group.drop(columns=list(by)),
            left_on="observed_at",
            right_on="created_at",
            by=ID_COLUMN,
            direction="backward",
            allow_exact_matches=False,
            tolerance=pd.Timedelta(lookback),
        ).dropna(subset=["churn_probability"])
        values = key if isinstance(key, tuple) else (key,)
        for name, value in zip(by, values, strict=True):
            matched[name] = value
        joined.append(matched)
    if not joined:
        return pd.DataFrame(columns=columns)
    out = pd.concat(joined, ignore_index=True)
    if "arm" not in out.columns:
        out["arm"] = DEFAULT_ARM
    out["churn"] = out["churn"].astype(bool)
    out["churned"] = out["churned"].astype(bool)
    return out[columns].reset_index(drop=True)


def _utc(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series)
    if values.dt.tz is None:
        return values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC")


def _arrays(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        rows["churned"].to_numpy(dtype=int),
        rows["churn_probability"].to_numpy(dtype=float),
        rows["churn"].to_numpy(dtype=bool),
    )


def bootstrap(
    rows: pd.DataFrame, samples: int, confidence: float, rng: np.random.Generator
) -> dict[str, Interval]:
    """Percentile intervals of each metric over `samples` resamples of the rows."""
    y, p, d = _arrays(rows)
    draws: dict[str, list[float]] = {m: [] for m in METRICS}
    for _ in range(samples):
        idx = rng.integers(0, len(y), len(y))
        for name, value in _point(y[idx], p[idx], d[idx]).items():
            if value is not None:
                draws[name].append(value)
    tail = (1 - confidence) / 2 * 100
    out = {}
    for name, values in draws.items():
        if len(values) < max(10, samples // 2):  # mostly undefined (one class): no interval
            out[name] = Interval(None, None)
        else:
            low, high = np.percentile(values, [tail, 100 - tail])
            out[name] = Interval(float(low), float(high))
    return out


def metrics_of(
    rows: pd.DataFrame,
    model_version: str,
    arm: str,
    samples: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> RealizedMetrics:
    y, p, d = _arrays(rows)
    point = _point(y, p, d)
    rng = np.random.default_rng(seed)
    intervals = bootstrap(rows, samples, confidence, rng) if len(rows) and samples else {}
    return RealizedMetrics(
        model_version=model_version,
        arm=arm,
        n=len(rows),
        positives=int(y.sum()),
        intervals=intervals,
        **point,
    )


def realized_metrics(
    joined: pd.DataFrame, samples: int = 500, confidence: float = 0.95, seed: int = 0
) -> list[RealizedMetrics]:
    """Per (model_version, arm), sorted by version then arm."""
    out = []
    for (version, arm), rows in joined.groupby(["model_version", "arm"], sort=True):
        out.append(metrics_of(rows, str(version), str(arm), samples, confidence, seed))
    return out


def auc_difference(
    production: pd.DataFrame,
    previous: pd.DataFrame,
    samples: int,
    confidence: float,
    seed: int = 0,
) -> tuple[float | None, float | None]:
    """(point, upper bound) of AUC(production) - AUC(previous): the one-sided `confidence`
    upper bound of a bootstrap resampling each side independently; None when undefined."""
    yp, pp, _ = _arrays(production)
    yq, pq, _ = _arrays(previous)
    a, b = roc_auc(yp, pp), roc_auc(yq, pq)
    if a is None or b is None:
        return None, None
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(samples):
        i = rng.integers(0, len(yp), len(yp))
        j = rng.integers(0, len(yq), len(yq))
        da, db = roc_auc(yp[i], pp[i]), roc_auc(yq[j], pq[j])
        if da is not None and db is not None:
            diffs.append(da - db)
    if len(diffs) < max(10, samples // 2):
        return a - b, None
    return a - b, float(np.percentile(diffs, confidence * 100))


def read_predictions(
    db_url: str,
    since: dt.datetime,
    until: dt.datetime | None = None,
    customers: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Logged predictions with a customer ID made in [since, until); `arm` when the log has it.

    `customers`: only those customers' rows (the ones with outcomes), `FETCH_CUSTOMERS` ids per
    `IN (...)` through the log's customer index: a window of a million logged rows with a few
    thousand outcomes reads a few thousand rows, not the window."""
    engine = make_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table(TABLE):
            return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
        present = {c["name"] for c in inspector.get_columns(TABLE)}
        names = [*PREDICTION_COLUMNS, *(["arm"] if "arm" in present else [])]
        table = sa.table(TABLE, *(sa.column(c) for c in names))
        query = sa.select(table).where(table.c[ID_COLUMN].is_not(None))
        # the log stores UTC; SQLite compares naive text, so compare naive UTC there
        naive = engine.dialect.name == "sqlite"
        query = query.where(table.c.created_at >= (_naive(since) if naive else since))
        if until is not None:
            query = query.where(table.c.created_at < (_naive(until) if naive else until))
        if customers is None:
            queries = [query]
        else:
            ids = sorted(set(customers))
            queries = [
                query.where(table.c[ID_COLUMN].in_(ids[at : at + FETCH_CUSTOMERS]))
                for at in range(0, len(ids), FETCH_CUSTOMERS)
            ]
        rows: list[Any] = []
        with engine.connect() as conn:
            for one in queries:
                rows += conn.execute(one).mappings().all()
        frame = pd.DataFrame(rows, columns=names)
    finally:
        engine.dispose()
    return frame


def _naive(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when


def exclude_treated(outcomes: pd.DataFrame, treated: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The outcomes without those of customers a campaign was treating when the outcome was
    observed (started at or before it, not closed before it): an offer that kept a customer
    would otherwise count as the model's false positive (docs/campaigns.md). Also the count left
    out. `treated`: keyed customerID, started_at, closed_at (churn.db.campaigns)."""
    if outcomes.empty or treated.empty:
        return outcomes, 0
    spans = treated.assign(started_at=_utc(treated["started_at"]))
    spans["closed_at"] = _utc(pd.to_datetime(spans["closed_at"], utc=True))
    pairs = outcomes.reset_index().merge(spans, on=ID_COLUMN, how="inner")
    observed = _utc(pairs["observed_at"])
    during = (pairs["started_at"] <= observed) & (
        pairs["closed_at"].isna() | (observed < pairs["closed_at"])
    )
    drop = set(pairs.loc[during.to_numpy(), "index"])
    return outcomes[~outcomes.index.isin(drop)], len(drop)
