"""Writer CPU per prediction-log write: the shipped INSERT against the dialect `insert()` baseline.

The writer thread shares the GIL with request handling: its CPU per write is CPU the requests do
not get. Both statements write the same rows (one per write, as a closed-loop load of single
`/predict` calls makes them) into one fresh log, alternating in rounds; the figure is the median
thread CPU time of one write per statement, and their ratio.

    .venv/bin/python benchmarks/prediction_log_insert.py [--writes 400] [--rounds 3]
    .venv/bin/python benchmarks/prediction_log_insert.py --db postgresql://user@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bentos.prediction_log import _insert_statement, define_table, open_database
from churn.generator import generate
from churn.schema import FEATURES, ID_COLUMN


def baseline_statement(engine: sa.Engine, table: sa.Table) -> Any:
    """What the writer used before: the dialect's insert with ON CONFLICT DO NOTHING."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=["request_id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=400, help="writes per statement per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='churn-insert-bench-')}/log.db"
    engine = open_database(url)
    table = define_table(sa.MetaData())
    statements = {
        "dialect_insert": baseline_statement(engine, table),
        "shipped": _insert_statement(engine, table),
    }
    customers = generate(64, seed=3).to_dict("records")
    counter = 0

    def row() -> dict[str, Any]:
        nonlocal counter
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
        return values

    cpu: dict[str, list[float]] = {name: [] for name in statements}
    for round_ in range(args.rounds):
        for name, statement in statements.items():
            for _ in range(args.writes):
                rows = [row()]
                start = time.thread_time()
                with engine.begin() as conn:
                    conn.execute(statement, rows)
                cpu[name].append(time.thread_time() - start)
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    medians = {name: statistics.median(times) * 1000 for name, times in cpu.items()}
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    engine.dispose()
    expected = args.writes * args.rounds * len(statements)
    result = {
        "database": engine.dialect.name,
        "writes_per_statement": args.writes * args.rounds,
        "cpu_ms_per_write_median": {k: round(v, 3) for k, v in medians.items()},
        "baseline_over_shipped": round(medians["dialect_insert"] / medians["shipped"], 2),
        "rows_stored": stored,
        "rows_expected": expected,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result))
    return 0 if stored == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
