"""Writer cost per prediction-log write: the shipped `RowInsert` against the dialect insert.

The writer thread shares the GIL with request handling: its CPU per write is CPU the requests do
not get. Both ways write the same rows into one fresh log, alternating in rounds, at two write
sizes: 1 row (a closed loop of single `/predict` calls) and 1,000 rows (one full
`/predict_batch`). The figures are the median thread CPU time and wall time of one write per way,
and their ratios. Without `--db`, it runs on a fresh SQLite file and, when Debian's PostgreSQL is
installed (as for the tests), on a throwaway PostgreSQL server on loopback too.

    .venv/bin/python benchmarks/prediction_log_insert.py [--rounds 3]
    .venv/bin/python benchmarks/prediction_log_insert.py --db postgresql://user@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bentos.prediction_log import open_database
from bentos.row_insert import RowInsert
from churn.db.tables import prediction_log
from churn.generator import generate
from churn.schema import FEATURES, ID_COLUMN


def baseline_statement(engine: sa.Engine, table: sa.Table) -> Any:
    """What the writer used before: the dialect's insert with ON CONFLICT DO NOTHING."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=["request_id"])


SIZES = ((1, 300), (1000, 6))  # (rows per write, writes per way per round)


def measure(url: str, rounds: int) -> dict[str, Any]:
    engine = open_database(url)
    table = prediction_log
    baseline, shipped = baseline_statement(engine, table), RowInsert(engine, table)
    ways: dict[str, Callable[[sa.Connection, list[dict[str, Any]]], Any]] = {
        "sqlalchemy_insert": lambda conn, rows: conn.execute(baseline, rows),
        "shipped": shipped.execute,
    }
    customers = generate(64, seed=3).to_dict("records")
    counter = 0

    def batch(n: int) -> list[dict[str, Any]]:
        nonlocal counter
        out = []
        for _ in range(n):
            counter += 1
            values = {f.name: customers[counter % len(customers)][f.name] for f in FEATURES}
            values.update(
                {
                    ID_COLUMN: f"key-{counter}",
                    "request_id": f"bench-{time.time_ns()}-{counter}",
                    "created_at": datetime.now(UTC),
                    "model_version": "1",
                    "churn_probability": 0.25,
                    "churn": False,
                    "arm": "champion",
                    "served": True,
                }
            )
            out.append(values)
        return out

    timings: dict[tuple[int, str], dict[str, list[float]]] = {
        (n, way): {"cpu": [], "wall": []} for n, _ in SIZES for way in ways
    }
    for round_ in range(rounds):
        for n, writes in SIZES:
            for way, write in ways.items():
                for _ in range(writes):
                    rows = batch(n)
                    cpu, wall = time.thread_time(), time.perf_counter()
                    with engine.begin() as conn:
                        write(conn, rows)
                    timings[(n, way)]["cpu"].append(time.thread_time() - cpu)
                    timings[(n, way)]["wall"].append(time.perf_counter() - wall)
        print(f"{engine.dialect.name}: round {round_ + 1}/{rounds} done", file=sys.stderr)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    engine.dispose()
    result: dict[str, Any] = {"database": engine.dialect.name, "rows_stored": stored}
    result["rows_expected"] = rounds * len(ways) * sum(n * w for n, w in SIZES)
    for n, _ in SIZES:
        med = {
            (way, kind): statistics.median(timings[(n, way)][kind]) * 1000
            for way in ways
            for kind in ("cpu", "wall")
        }
        result[f"{n}_rows"] = {
            "cpu_ms": {way: round(med[(way, "cpu")], 3) for way in ways},
            "wall_ms": {way: round(med[(way, "wall")], 3) for way in ways},
            "cpu_ratio": round(med[("sqlalchemy_insert", "cpu")] / med[("shipped", "cpu")], 2),
            "wall_ratio": round(med[("sqlalchemy_insert", "wall")] / med[("shipped", "wall")], 2),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", help="database URL (default: SQLite, plus PostgreSQL if installed)")
    args = parser.parse_args()
    results = []
    with contextlib.ExitStack() as stack:
        urls = [args.db] if args.db else _default_urls(stack)
        for url in urls:
            results.append(measure(url, args.rounds))
    date = datetime.now(UTC).isoformat(timespec="seconds")
    for result in results:
        print(json.dumps({**result, "date": date}))
    return 0 if all(r["rows_stored"] == r["rows_expected"] for r in results) else 1


def _default_urls(stack: contextlib.ExitStack) -> list[str]:
    urls = [f"sqlite:///{tempfile.mkdtemp(prefix='churn-insert-bench-')}/log.db"]
    from tests.fixtures.postgres import running_server

    try:
        server = stack.enter_context(running_server())
    except BaseException as exc:  # pytest.fail is a BaseException: no PostgreSQL here
        print(f"PostgreSQL not measured: {str(exc)[:200]}", file=sys.stderr)
        return urls
    return [*urls, server.url(server.create_database())]


if __name__ == "__main__":
    raise SystemExit(main())
