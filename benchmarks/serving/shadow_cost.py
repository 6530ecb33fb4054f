"""What shadow scoring costs the champion's throughput: /predict at 32 closed-loop users.

    .venv/bin/python benchmarks/serving/shadow_cost.py [--users 32] [--seconds 20] [--rounds 2]

One real `bentoml serve` (1 worker) on loopback with isolated BentoML and database stores, two
promotable models (tests/fixtures/promotable.py). Rounds alternate the serving state between no
experiment (the baseline) and a shadow experiment, in the same run, so drift of the shared
machine hits both; the cost is 1 - median(shadow rps) / median(baseline rps).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
SCRATCH = Path(tempfile.mkdtemp(prefix="churn-shadow-bench-"))
os.environ["BENTOML_HOME"] = str(SCRATCH / "bentoml")
os.environ["BENTOML_DO_NOT_TRACK"] = "True"

from benchmarks.serving.loadgen import closed_loop  # noqa: E402
from churn.db import serving_state  # noqa: E402
from churn.schema import EXAMPLE_RECORD, ID_COLUMN  # noqa: E402
from tests.fixtures.launcher import start_service  # noqa: E402
from tests.fixtures.promotable import SHIPPED_FAMILY, reference_frame, save_candidate  # noqa: E402

NAME = "telco_churn"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    frame = reference_frame()
    one = save_candidate(SHIPPED_FAMILY, frame, version="1")
    two = save_candidate(SHIPPED_FAMILY, frame.sample(frac=0.5, random_state=2), version="2")
    db = f"sqlite:///{SCRATCH / 'predictions.db'}"
    states = {
        "baseline": serving_state.ServingState(NAME, str(one.tag), "1"),
        "shadow": serving_state.ServingState(
            NAME, str(one.tag), "1", "shadow", str(two.tag), "2", 1.0, "bench"
        ),
    }
    serving_state.change(states["baseline"], NAME, None, db)
    service = start_service(
        env={
            "CHURN_PREDICTION_DB": db,
            "CHURN_SERVICE_WORKERS": "1",
            "CHURN_MODEL_POLL_S": "1",
        },
        log_path=SCRATCH / "service.log",
    )
    url = f"{service.url}/predict"

    def body(i: int) -> dict[str, object]:
        return {"customer": {**EXAMPLE_RECORD, ID_COLUMN: f"bench-{i}"}}

    rps: dict[str, list[float]] = {"baseline": [], "shadow": []}
    try:
        for _ in range(args.rounds):
            for name in ("baseline", "shadow"):
                serving_state.change(states[name], NAME, None, db)
                time.sleep(3)  # > the poll interval: the worker has switched
                result = closed_loop(
                    url, body, args.users, args.seconds, warmup=2.0, headers=service.headers
                )
                if result.errors:
                    raise SystemExit(f"{name}: {result.errors} failed requests")
                rps[name].append(result.rps)
    finally:
        service.stop()
    base, shadow = statistics.median(rps["baseline"]), statistics.median(rps["shadow"])
    print(
        json.dumps(
            {
                "users": args.users,
                "seconds": args.seconds,
                "rps": rps,
                "median_rps": {"baseline": base, "shadow": shadow},
                "throughput_cost": 1 - shadow / base,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
