"""The feature store at scale: `churn features ingest` of `--ingest-rows` customers (Parquet offline
store) and `churn features materialize` of `--materialize-rows` into a Redis on loopback, each under
`/usr/bin/time -v` (wall, CPU, peak RSS, load average), `--repeats` times, medians reported; then
the by-ID online read (`online_records`, one ID and blocks of 100) against that Redis.

Files come from `churn generate --seed 1` and are kept in `--workdir`. Each ingest starts from an
empty feature folder. The materialize runs start from a copy of one ingested folder (ingested once,
untimed, kept in the workdir as `ingested-ROWS`) and an empty Redis database each, so every run
is a full first materialize. `--ingest-rows 0` skips the ingest figure.

Usage: python benchmarks/features_benchmark.py [--ingest-rows 10000000]
       [--materialize-rows 1000000] [--repeats 3] [--workdir /tmp/churn-features-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timed import Timed, run_timed  # noqa: E402

CHURN = str(Path(sys.executable).with_name("churn"))
AS_OF = "2026-12-01T00:00:00Z"


def data(workdir: Path, rows: int) -> Path:
    path = workdir / f"customers-{rows}.csv"
    if not path.exists():
        subprocess.run(
            [CHURN, "generate", "--rows", str(rows), "--seed", "1", "--out", str(path)], check=True
        )
    return path


def timed(argv: list[str], env: dict[str, str], log: Path) -> Timed:
    old = dict(os.environ)
    os.environ.update(env)
    try:
        result = run_timed(argv, log=log)
    finally:
        os.environ.clear()
        os.environ.update(old)
    if result.exit_code != 0:
        raise SystemExit(f"{' '.join(argv)} failed; see {log}")
    return result


def median(runs: list[Timed]) -> dict[str, float]:
    return {
        "wall_s": statistics.median(r.wall_s for r in runs),
        "cpu_s": statistics.median(r.cpu_s for r in runs),
        "peak_mb": statistics.median(r.peak_mb for r in runs),
        "load_before": statistics.median(r.load_before for r in runs),
        "runs": len(runs),
    }


def online_latency(env: dict[str, str], ids: list[str]) -> dict[str, float]:
    os.environ.update(env)
    from churn.feature_store.online import online_records
    from churn.settings import load_settings

    settings = load_settings().model_copy(update={"feature_max_age_hours": 24 * 3650})
    online_records(ids[:1], settings)  # opens the store
    out: dict[str, float] = {}
    for size, calls in ((1, 2000), (100, 200)):
        times = []
        for n in range(calls):
            block = ids[(n * size) % (len(ids) - size) :][:size]
            start = time.perf_counter()
            online_records(block, settings)
            times.append(time.perf_counter() - start)
        times.sort()
        out[f"{size}_id_p50_ms"] = round(1000 * times[len(times) // 2], 2)
        out[f"{size}_id_p99_ms"] = round(1000 * times[int(len(times) * 0.99)], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-rows", type=int, default=10_000_000)
    parser.add_argument("--materialize-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/churn-features-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    from tests.fixtures.redis import running_server

    results: dict[str, object] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    store = args.workdir / "store"
    if args.ingest_rows:
        ingest_file = data(args.workdir, args.ingest_rows)
        runs = []
        for n in range(args.repeats):
            shutil.rmtree(store, ignore_errors=True)
            env = {"CHURN_FEATURE_DIR": str(store)}
            argv = [CHURN, "features", "ingest", str(ingest_file), "--as-of", AS_OF]
            runs.append(timed(argv, env, args.workdir / f"ingest-{n}.log"))
        results[f"ingest {args.ingest_rows:,}"] = median(runs)
        print(json.dumps(results, indent=2), flush=True)

    mat_file = data(args.workdir, args.materialize_rows)
    ingested = args.workdir / f"ingested-{args.materialize_rows}"
    if not ingested.exists():  # once, untimed: the runs below copy it
        scratch = ingested.with_name(ingested.name + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        ingest = [CHURN, "features", "ingest", str(mat_file), "--as-of", AS_OF]
        timed(ingest, {"CHURN_FEATURE_DIR": str(scratch)}, args.workdir / "mat-ingest.log")
        scratch.rename(ingested)
    with running_server() as redis:
        runs = []
        for n in range(args.repeats):
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(ingested, store)
            env = {"CHURN_FEATURE_DIR": str(store), "CHURN_FEATURE_ONLINE_STORE": redis.url(n)}
            argv = [CHURN, "features", "materialize"]
            runs.append(timed(argv, env, args.workdir / f"materialize-{n}.log"))
            print(f"materialize run {n + 1}: {runs[-1].wall_s} s, {runs[-1].peak_mb} MB",
                  flush=True)  # fmt: skip
        results[f"materialize {args.materialize_rows:,} to Redis"] = median(runs)
        import redis as redis_client

        client = redis_client.Redis.from_url(redis.url(0))
        results["redis"] = {  # one database of the runs: what the online store takes in memory
            "keys": client.dbsize(),
            "used_memory_mb_all_dbs": round(client.info("memory")["used_memory"] / 2**20, 1),
            "databases": args.repeats,
        }
        client.close()
        import pandas as pd

        ids = pd.read_csv(mat_file, usecols=["customerID"], nrows=20_000)["customerID"].tolist()
        results["online_records"] = online_latency(env, ids)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
