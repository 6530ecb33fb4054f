"""`churn privacy purge` at size: the longest write transaction, the wall time and peak memory.

A purge runs beside the service, whose log writer needs SQLite's one write lock: what matters is
how long the purge holds it at a time. A SQLite log of N rows (90% older than 30 days) is purged
twice per round, on fresh copies: the shipped batched purge (`churn.control.privacy.purge`,
10,000 rows per transaction) and the baseline one statement (`DELETE ... WHERE created_at < ?`).
The figures are the medians over rounds of the wall time and of the longest transaction (from
SQLAlchemy's begin/commit events), their ratios, and the peak RSS of the shipped command as a
user runs it (`/usr/bin/time -v churn privacy purge --older-than 30`), at each size.

    .venv/bin/python benchmarks/privacy_purge.py [--rows 100000 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timed import run_timed
from churn.control.privacy import purge
from churn.db.engine import make_engine
from churn.db.outcomes import engine_for
from churn.db.tables import prediction_log
from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES

CHURN = Path(sys.executable).parent / "churn"
DAYS = 30


def fill(path: Path, rows: int) -> None:
    """A migrated SQLite log of `rows` rows, nine in ten of them 200 days old."""
    engine = engine_for(f"sqlite:///{path}")
    engine.dispose()
    columns = [c.name for c in prediction_log.columns if c.name != "id"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    base = {
        **{n: EXAMPLE_RECORD[n] for n in FEATURE_NAMES},
        "model_version": "1",
        "arm": "champion",
    }
    base |= {"churn_probability": 0.3, "churn": 0, "served": 1, "customerID": None}
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f"INSERT INTO prediction_log ({names}) VALUES ({', '.join('?' * len(columns))})"

    def chunk(start: int, stop: int) -> list[tuple[Any, ...]]:
        out = []
        for i in range(start, stop):
            age = dt.timedelta(days=200 if i % 10 else 1, seconds=i)
            row = {**base, "request_id": f"r{i}", "created_at": str(now - age)}
            out.append(tuple(row[c] for c in columns))
        return out

    with sqlite3.connect(path) as conn:
        for start in range(0, rows, 100_000):
            conn.executemany(sql, chunk(start, min(rows, start + 100_000)))


def timed(path: Path, way: str) -> tuple[float, float, int]:
    """(wall s, longest transaction s, rows deleted) of one purge of the log at `path`."""
    engine = make_engine(f"sqlite:///{path}")  # the project's one engine factory
    began: list[float] = []
    held: list[float] = []
    sa.event.listen(engine, "begin", lambda conn: began.append(time.perf_counter()))
    sa.event.listen(engine, "commit", lambda conn: held.append(time.perf_counter() - began[-1]))
    start = time.perf_counter()
    if way == "batched":
        deleted = purge(engine, DAYS, "benchmark")["prediction_log"]
    else:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS)
        with engine.begin() as conn:
            statement = prediction_log.delete().where(prediction_log.c.created_at < cutoff)
            deleted = int(conn.execute(statement).rowcount)
    wall = time.perf_counter() - start
    engine.dispose()
    return wall, max(held), deleted


def peak_rss_mb(path: Path) -> float:
    """Peak RSS of `churn privacy purge` as a user runs it, from /usr/bin/time -v."""
    run = run_timed(
        [str(CHURN), "privacy", "purge", "--older-than", str(DAYS),
         "--db", f"sqlite:///{path}", "--actor", "benchmark"],
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    return run.peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="churn-purge-") as tmp:
        for rows in args.rows:
            filled = Path(tmp) / f"filled-{rows}.db"
            fill(filled, rows)
            figures: dict[str, list[tuple[float, float, int]]] = {"batched": [], "single": []}
            for _ in range(args.rounds):
                for way in figures:  # alternating, on fresh copies
                    copy = Path(tmp) / f"{way}.db"
                    shutil.copy(filled, copy)
                    figures[way].append(timed(copy, way))
            shutil.copy(filled, Path(tmp) / "cli.db")
            rss = peak_rss_mb(Path(tmp) / "cli.db")
            med = {
                way: {
                    "wall_s": round(statistics.median(f[0] for f in runs), 3),
                    "longest_transaction_s": round(statistics.median(f[1] for f in runs), 4),
                    "deleted": runs[0][2],
                }
                for way, runs in figures.items()
            }
            results.append(
                {
                    "rows": rows,
                    **med,
                    "wall_ratio_batched_vs_single": round(
                        med["batched"]["wall_s"] / med["single"]["wall_s"], 2
                    ),
                    "longest_transaction_ratio": round(
                        med["batched"]["longest_transaction_s"]
                        / med["single"]["longest_transaction_s"],
                        3,
                    ),
                    "cli_peak_rss_mb": round(rss, 1),
                }
            )
            print(json.dumps(results[-1]), flush=True)


if __name__ == "__main__":
    main()
