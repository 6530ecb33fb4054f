"""Serving benchmark, all on this machine in one run (load generator included), against the model
`make run` ships (logistic regression with interactions, built by the pipeline's own candidate
factory on the real data, in a temporary BentoML store; `--model store` uses the latest
`telco_churn` of the current store instead):

- the BentoML service as shipped, also at 64 and 128 users: every route a `@bentoml.api`
  declared in bentos/service.py, `/predict_batch` through BentoML's adaptive batcher,
- the tutorial baseline: Flask's server calling `predict_proba` on a one-row DataFrame,
- two framework ceilings, answering a constant `Prediction` after validating the same `Customer`:
  a BentoML service with the same service config and ContractGuard middleware
  (`benchmarks/serving/ceiling_service.py`) and bare Starlette under uvicorn with the same worker
  count (`benchmarks/serving/ceiling_starlette.py`). `/predict` as a % of the BentoML ceiling says
  how much of the framework's limit our own work (scoring, logging, metrics) costs; the Starlette
  ceiling bounds what answering outside BentoML's dispatch could reach.

Single records go both ways: `/predict` and `/predict_batch` with one
record (merged by the batcher). Every scenario is repeated (round-robin across targets) and the
medians are printed with ratios against the Flask baseline.
Results: $CHURN_REPORTS_DIR/serving_benchmark.json.

    python benchmarks/serving_benchmark.py [--users 32] [--seconds 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.serving.loadgen import LoadResult, closed_loop, sequential  # noqa: E402
from benchmarks.serving.report import (  # noqa: E402
    Scenario,
    check_goals,
    framework_limits,
    print_table,
)
from churn.generator import generate  # noqa: E402
from churn.schema import FEATURE_NAMES, ID_COLUMN  # noqa: E402
from churn.settings import get_settings  # noqa: E402
from tests.fixtures.http import wait_for_http  # noqa: E402
from tests.fixtures.launcher import SERVICE, RunningService, free_port, start_service  # noqa: E402

CEILING_SERVICE = "benchmarks.serving.ceiling_service:CeilingService"
METRICS = ("rps", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms", "loadgen_cpu_ms")


def prepare_model(kind: str, scratch: Path) -> str:
    """The model to serve: the shipped family in a scratch store, or the current store's latest."""
    if kind == "store":
        import bentoml

        return str(bentoml.models.get(f"{get_settings().model_name}:latest").tag)
    os.environ["BENTOML_HOME"] = str(scratch / "bentoml")  # before bentoml is imported
    from tests.fixtures.promotable import SHIPPED_FAMILY, reference_frame, save_candidate

    return str(save_candidate(SHIPPED_FAMILY, reference_frame(), version="benchmark").tag)


def customers(rows: int = 2000) -> list[dict[str, Any]]:
    frame = generate(rows, seed=5)[[ID_COLUMN, *FEATURE_NAMES]]
    return list(json.loads(frame.to_json(orient="records")))


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group started with `start_new_session` (uvicorn's workers too)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def start_script(name: str, port: int, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`benchmarks/serving/NAME.py PORT ARGS...` in its own process group, ready on /readyz."""
    script = REPO_ROOT / "benchmarks" / "serving" / f"{name}.py"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(port), *args], cwd=REPO_ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", 180, process=proc, log=log)
    except TimeoutError:
        stop_process(proc)
        raise
    return proc


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its children."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def worker_memory_mb(service: RunningService) -> list[float]:
    """Resident memory of each BentoML worker process."""
    root = psutil.Process(service.process.pid)
    workers = [
        p for p in root.children(recursive=True) if "worker.service" in " ".join(p.cmdline())
    ]
    return [round(p.memory_info().rss / 2**20, 1) for p in workers]


def big_batch_latency(
    url: str, records: list[dict[str, Any]], count: int, headers: dict[str, str]
) -> LoadResult:
    return sequential(f"{url}/predict_batch", {"customers": records[:1000]}, count, headers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-requests", type=int, default=15)
    parser.add_argument("--model", choices=("candidate", "store"), default="candidate")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    tag = prepare_model(args.model, scratch)
    pool = customers()
    load_before = os.getloadavg()
    print(f"model {tag}; load average before: {load_before}; scratch {scratch}")

    common = {"CHURN_SERVICE_WORKERS": str(args.workers)}
    with contextlib.ExitStack() as running:  # whatever started is stopped, even on a failure
        services: dict[str, RunningService] = {}
        for name, env, target in (
            ("batching", {"CHURN_PREDICTION_DB": f"sqlite:///{scratch}/a.db"}, SERVICE),
            # the ceiling's guard checks tokens too (from its own database): the same auth cost
            ("ceiling", {"CHURN_PREDICTION_DB": f"sqlite:///{scratch}/c.db"}, CEILING_SERVICE),
        ):
            log = scratch / f"{name}.log"
            services[name] = start_service({**common, **env}, log_path=log, target=target)
            running.callback(services[name].stop)
        flask_port, starlette_port = free_port(), free_port()
        flask = start_script("naive_flask", flask_port, scratch / "flask.log")
        running.callback(stop_process, flask)
        starlette = start_script(
            "ceiling_starlette", starlette_port, scratch / "starlette.log", str(args.workers)
        )
        running.callback(stop_process, starlette)
        urls = {name: s.url for name, s in services.items()}
        headers = {name: s.headers for name, s in services.items()}  # bearer tokens (auth is on)
        headers["flask"] = headers["starlette"] = {}
        urls["flask"] = f"http://127.0.0.1:{flask_port}"
        urls["starlette"] = f"http://127.0.0.1:{starlette_port}"
        pids = {name: s.process.pid for name, s in services.items()}
        pids["flask"] = flask.pid
        pids["starlette"] = starlette.pid
        time.sleep(3)
        memory = {name: worker_memory_mb(s) for name, s in services.items()}
        scenarios = [
            Scenario(
                "shipped           POST /predict (bentoml api)",
                "batching",
                "/predict",
                True,
                role="shipped",
            ),
            Scenario(
                "shipped           POST /predict_batch [1] (batcher)",
                "batching",
                "/predict_batch",
                False,
            ),
            Scenario(
                "naive flask       POST /predict (DataFrame)",
                "flask",
                "/predict",
                True,
                role="baseline",
            ),
            Scenario(
                "ceiling bentoml   POST /predict (constant)",
                "ceiling",
                "/predict",
                True,
                role="ceiling",
            ),
            Scenario(
                "ceiling starlette POST /predict (constant)",
                "starlette",
                "/predict",
                True,
                role="ceiling",
            ),
            Scenario(
                "shipped           POST /predict, 64 users",
                "batching",
                "/predict",
                True,
                64,
                role="overload",
            ),
            Scenario(
                "shipped           POST /predict, 128 users",
                "batching",
                "/predict",
                True,
                128,
                role="overload",
            ),
        ]
        for rep in range(args.repeats):
            for s in scenarios:

                def body(i: int, s: Scenario = s) -> Any:
                    rec = pool[i % len(pool)]
                    return {"customer": rec} if s.single else {"customers": [rec]}

                server_before = tree_cpu_seconds(pids[s.target])
                gen_before = time.process_time()
                users = s.users or args.users
                result = closed_loop(
                    urls[s.target] + s.path, body, users, args.seconds, headers=headers[s.target]
                )
                gen_cpu = time.process_time() - gen_before
                server_cpu = tree_cpu_seconds(pids[s.target]) - server_before
                done = max(result.requests + result.errors, 1) * (1 + 1 / args.seconds)
                s.runs.append(result)
                s.cpu.append(
                    {
                        "server_cpu_ms": 1000 * server_cpu / done,
                        "loadgen_cpu_ms": 1000 * gen_cpu / done,
                    }
                )
                print(f"  run {rep + 1}: {s.name:<52} {result.rps:7.0f} req/s "
                      f"p99 {result.p99_ms:6.1f} ms err {result.errors} "
                      f"503 {result.shed}")  # fmt: skip
        batch = {
            name: big_batch_latency(urls[name], pool, args.batch_requests, headers[name])
            for name in ("batching",)
        }
        memory_after = {name: worker_memory_mb(s) for name, s in services.items()}

    baseline = next(s for s in scenarios if s.role == "baseline")
    shipped = next(s for s in scenarios if s.role == "shipped")
    ceilings = [s for s in scenarios if s.role == "ceiling"]
    print_table(scenarios, baseline, ceilings[0])
    print("\nframework limit (same run, same users):")
    for line in framework_limits(shipped, ceilings):
        print(line)
    print("\n/predict_batch with 1,000 records (sequential):")
    for name, r in batch.items():
        print(f"  {name:<12} median {r.p50_ms:6.1f} ms  p95 {r.p95_ms:6.1f} ms  errors {r.errors}")
    print(f"\nidle RSS per worker (MB): {memory}; after the load: {memory_after}")
    load_after = os.getloadavg()
    print(f"load average before {load_before}, after {load_after} (2 cores, shared machine)")
    goals = check_goals(scenarios, baseline, batch["batching"])
    for goal, (ok, measured) in goals.items():
        print(f"  [{'met' if ok else 'NOT met'}] {goal}: {measured}")

    report = {
        "users": args.users,
        "seconds": args.seconds,
        "repeats": args.repeats,
        "workers": args.workers,
        "model": tag,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "scenarios": [
            {
                "name": s.name,
                **{m: s.median(m) for m in METRICS},
                "users": s.users or args.users,
                "errors": s.errors(),
                "shed_503": s.shed(),
                "role": s.role,
                "ratio_vs_flask": s.median("rps") / baseline.median("rps"),
                "percent_of_bentoml_ceiling": 100 * s.median("rps") / ceilings[0].median("rps"),
                "capacity_2_cores": s.capacity(),
                "capacity_ratio_vs_flask": s.capacity() / baseline.capacity(),
                "runs": [r.as_dict() for r in s.runs],
            }
            for s in scenarios
        ],
        "batch_1000": {name: r.as_dict() for name, r in batch.items()},
        "goals": {goal: {"met": ok, "measured": m} for goal, (ok, m) in goals.items()},
        "idle_worker_rss_mb": memory,
        "worker_rss_mb_after_load": memory_after,
        "framework_limits": framework_limits(shipped, ceilings),
    }
    out_dir = Path(get_settings().reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "serving_benchmark.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out_dir / 'serving_benchmark.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
