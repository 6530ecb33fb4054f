"""Where one worker's Python time goes under `/predict` load: py-spy's GIL samples, grouped.

One worker (`CHURN_SERVICE_WORKERS=1`) serves the shipped family from a scratch store, is warmed
up, then `py-spy record --gil` samples it while closed-loop users send `/predict` (or, with
`--batch`, 1,000-record `/predict_batch` requests one after another). `--gil` keeps only the
thread holding the GIL: the worker's Python CPU time, not threads waiting for a core. Each sample
goes to the first part whose frames it contains (`PARTS`, most specific first); the table is the
share of samples per part (docs/serving.md, "Where the time of one /predict goes").

    .venv/bin/python benchmarks/serving/profile_predict.py [--seconds 15] [--users 32] [--batch]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.serving.loadgen import closed_loop, sequential  # noqa: E402
from benchmarks.serving_benchmark import customers, prepare_model  # noqa: E402
from tests.fixtures.launcher import start_service  # noqa: E402

# (part, frame substrings). A sample belongs to the part of its innermost frame that matches one:
# the guard is the outermost middleware, so "first part found anywhere in the stack" would give
# it every request.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("prediction-log writer thread", ("bentos/prediction_log.py",)),
    ("scoring", ("bentos/scorer.py", "churn/features.py")),
    ("metrics (bentos/metrics.py)", ("bentos/metrics.py",)),
    ("request validation (pydantic)", ("model_validate", "validate_python", "validate_json")),
    ("response serialisation", ("to_http_response", "model_dump", "to_json", "Response.")),
    ("ChurnService handler", ("bentos/service.py",)),
    ("ContractGuard and token check", ("bentos/middleware.py", "bentos/auth.py")),
    ("our routes (bentos/routes.py, bentos/errors.py)", ("bentos/routes.py", "bentos/errors.py")),
    ("model poll and shadow threads", ("bentos/live_model.py",)),
    (
        "BentoML/Starlette/uvicorn dispatch, event loop",
        ("_bentoml_impl/", "bentoml/", "starlette/", "uvicorn/", "anyio/", "asyncio/"),
    ),
)
OTHER = "unattributed"


def part_of(stack: str) -> str:
    """The part of the innermost frame of `stack` (py-spy's `outer;...;inner`) that has one."""
    for frame in reversed(stack.split(";")):
        for name, keys in PARTS:
            if any(k in frame for k in keys):
                return name
    return OTHER


def worker_pid(root: int, timeout_s: float = 30.0) -> int:
    """The BentoML worker process under the `bentoml serve` process."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in psutil.Process(root).children(recursive=True):
            if "worker.service" in " ".join(proc.cmdline()):
                return proc.pid
        time.sleep(0.5)
    raise TimeoutError(f"no BentoML worker under pid {root}")


def classify(raw: str) -> dict[str, int]:
    """Samples per part from py-spy's raw (collapsed) output: `frame;frame;... count` lines."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        counts[part_of(stack)] += int(count)
    return dict(counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--batch", action="store_true", help="1,000-record /predict_batch calls")
    args = parser.parse_args()
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        parser.error(f"py-spy not found at {py_spy} (it is in the lock: run `make venv`)")

    scratch = Path(tempfile.mkdtemp(prefix="serving-profile-"))
    tag = prepare_model("candidate", scratch)
    pool = customers()
    env = {"CHURN_SERVICE_WORKERS": "1", "CHURN_PREDICTION_DB": f"sqlite:///{scratch}/log.db"}
    service = start_service(env, log_path=scratch / "service.log")
    try:
        pid = worker_pid(service.process.pid)
        if args.batch:
            path, body = "/predict_batch", {"customers": pool[:1000]}

            def load(seconds: float) -> None:
                count = max(1, int(seconds * 8))
                sequential(service.url + path, body, count, service.headers)
        else:
            path = "/predict"

            def load(seconds: float) -> None:
                closed_loop(
                    service.url + path,
                    lambda i: {"customer": pool[i % len(pool)]},
                    args.users,
                    seconds,
                    headers=service.headers,
                )

        print(f"model {tag}; warming up {path}", file=sys.stderr)
        load(3.0)
        loader = threading.Thread(target=load, args=(args.seconds + 4.0,), daemon=True)
        loader.start()
        time.sleep(2.0)
        out = scratch / "profile.txt"
        cmd = [str(py_spy), "record", "--pid", str(pid), "-d", str(int(args.seconds))]
        cmd += ["-r", "200", "-f", "raw", "--nonblocking", "--gil", "-o", str(out)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=args.seconds + 60)
        loader.join()
    finally:
        service.stop()
    counts = classify(out.read_text())
    total = sum(counts.values()) or 1
    order = [name for name, _ in PARTS] + [OTHER]
    print(f"\n{'part':<52}{'share':>8}")
    for name in sorted(order, key=lambda n: -counts.get(n, 0)):
        print(f"{name:<52}{100 * counts.get(name, 0) / total:7.1f}%")
    result = {
        "route": path,
        "samples": total,
        "shares": {n: round(counts.get(n, 0) / total, 4) for n in order},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "raw_profile": str(out),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
