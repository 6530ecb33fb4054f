"""By-ID `/predict` against a Redis online store, beside the full-record `/predict` of the same
service in the same run (issue #33's goal: at least 1,200 requests/s with p99 at most 50 ms at 32
users). The machinery is the serving benchmark's (benchmarks/serving_benchmark.py: the model `make
run` ships in a scratch BentoML store, its customer pool, the closed-loop aiohttp load generator).

The pool's customers are ingested (as of an hour ago) and materialized into a throwaway
`redis-server` on loopback; one service (2 workers) answers both bodies, `{"customer": {...}}` and
`{"customerID": "..."}`, taken in turns, `--repeats` times; medians are printed and written to
$CHURN_REPORTS_DIR/features_serving.json.

    python benchmarks/features_serving.py [--users 32] [--seconds 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.serving.loadgen import LoadResult, closed_loop  # noqa: E402
from benchmarks.serving_benchmark import customers, prepare_model, tree_cpu_seconds  # noqa: E402
from churn.schema import ID_COLUMN  # noqa: E402
from churn.settings import get_settings  # noqa: E402
from tests.fixtures.launcher import start_service  # noqa: E402
from tests.fixtures.redis import running_server  # noqa: E402

GOAL_RPS, GOAL_P99_MS = 1200.0, 50.0


def fill_store(pool: list[dict[str, Any]], folder: Path, online: str) -> None:
    """The pool as one extract of an hour ago, ingested and materialized into `online`."""
    import pandas as pd

    from churn.feature_store.ingest import ingest_file
    from churn.feature_store.offline import materialize
    from churn.settings import Settings

    extract = folder / "pool.csv"
    pd.DataFrame(pool).assign(Churn="No").to_csv(extract, index=False)
    settings = Settings(feature_dir=folder / "store", feature_online_store=online)
    as_of = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    report = ingest_file(extract, as_of, settings)
    assert report.accepted == len(pool), report
    materialize(settings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="features-serving-"))
    tag = prepare_model("candidate", scratch)
    pool = customers()
    bodies = {
        "full record  POST /predict {customer}": lambda i: {"customer": pool[i % len(pool)]},
        "by ID        POST /predict {customerID}": lambda i: {
            ID_COLUMN: pool[i % len(pool)][ID_COLUMN]
        },
    }
    runs: dict[str, list[LoadResult]] = {name: [] for name in bodies}
    cpu: dict[str, list[float]] = {name: [] for name in bodies}
    load_before = os.getloadavg()
    with contextlib.ExitStack() as running, running_server() as redis:
        fill_store(pool, scratch, redis.url(0))
        env = {
            "CHURN_SERVICE_WORKERS": str(args.workers),
            "CHURN_PREDICTION_DB": f"sqlite:///{scratch}/predictions.db",
            "CHURN_FEATURE_DIR": str(scratch / "store"),
            "CHURN_FEATURE_ONLINE_STORE": redis.url(0),
        }
        service = start_service(env, log_path=scratch / "service.log")
        running.callback(service.stop)
        time.sleep(3)
        for rep in range(args.repeats):
            for name, body in bodies.items():
                before = tree_cpu_seconds(service.process.pid)
                result = closed_loop(
                    f"{service.url}/predict", body, args.users, args.seconds,
                    headers=service.headers,
                )  # fmt: skip
                done = max(result.requests + result.errors, 1) * (1 + 1 / args.seconds)
                cpu[name].append(1000 * (tree_cpu_seconds(service.process.pid) - before) / done)
                runs[name].append(result)
                print(f"  run {rep + 1}: {name:<42} {result.rps:7.0f} req/s "
                      f"p50 {result.p50_ms:5.1f} ms p99 {result.p99_ms:6.1f} ms "
                      f"err {result.errors} 503 {result.shed}", flush=True)  # fmt: skip

    def med(name: str, metric: str) -> float:
        return statistics.median(getattr(r, metric) for r in runs[name])

    full, by_id = list(bodies)
    summary = {
        name: {
            **{m: round(med(name, m), 1) for m in ("rps", "p50_ms", "p95_ms", "p99_ms")},
            "server_cpu_ms": round(statistics.median(cpu[name]), 2),
            "errors": sum(r.errors for r in runs[name]),
            "runs": [r.as_dict() for r in runs[name]],
        }
        for name in bodies
    }
    ratio = med(by_id, "rps") / med(full, "rps")
    met = med(by_id, "rps") >= GOAL_RPS and med(by_id, "p99_ms") <= GOAL_P99_MS
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "users": args.users,
        "seconds": args.seconds,
        "repeats": args.repeats,
        "workers": args.workers,
        "model": tag,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "scenarios": summary,
        "by_id_over_full_record_rps": round(ratio, 3),
        "goal": f">= {GOAL_RPS:,.0f} req/s and p99 <= {GOAL_P99_MS:g} ms at {args.users} users",
        "goal_met": met,
    }
    for name in bodies:
        s = summary[name]
        print(f"{name:<42} median {s['rps']:7.0f} req/s p50 {s['p50_ms']} ms "
              f"p99 {s['p99_ms']} ms, server CPU {s['server_cpu_ms']} ms/request")  # fmt: skip
    print(f"by ID / full record: {ratio:.2f}x; goal [{'met' if met else 'NOT met'}] "
          f"{report['goal']}")  # fmt: skip
    out_dir = Path(get_settings().reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "features_serving.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out_dir / 'features_serving.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
