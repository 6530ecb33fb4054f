"""What a SIGKILL loses from the prediction log: serve N predictions, kill -9 the whole service
the moment the last answer arrives (no drain), and count the rows that made it to the database.

    python benchmarks/prediction_log_sigkill.py [--requests 400] [--repeats 3]

Runs in a temporary BentoML home and SQLite file; nothing in the checkout changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

SCRATCH = Path(tempfile.mkdtemp(prefix="churn-sigkill-"))
os.environ.setdefault("BENTOML_HOME", str(SCRATCH / "bentoml"))

import aiohttp  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from churn.db.engine import make_engine  # noqa: E402
from churn.db.tables import prediction_log  # noqa: E402
from churn.schema import EXAMPLE_RECORD  # noqa: E402
from tests.fixtures.launcher import start_service  # noqa: E402


async def _fire(url: str, n: int, limit: int) -> list[int]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:

        async def one() -> int:
            async with session.post(f"{url}/predict", json={"customer": EXAMPLE_RECORD}) as resp:
                await resp.read()
                return resp.status

        return await asyncio.gather(*(one() for _ in range(n)))


def one_run(i: int, requests: int) -> int:
    db = SCRATCH / f"run{i}.db"
    service = start_service(
        env={"CHURN_PREDICTION_DB": f"sqlite:///{db}", "CHURN_SERVICE_WORKERS": "2"},
        log_path=SCRATCH / f"run{i}.log",
    )
    statuses = asyncio.run(_fire(service.url, requests, limit=16))
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(30)
    assert statuses == [200] * requests, statuses
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(prediction_log)
        rows = int(conn.execute(count).scalar_one())
    engine.dispose()
    return requests - rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from tests.fixtures.promotable import SHIPPED_FAMILY, reference_frame, save_candidate

    # the family `make run` ships, saved to the scratch store as the pipeline saves it
    save_candidate(SHIPPED_FAMILY, reference_frame(), version="benchmark")
    try:
        lost = [one_run(i, args.requests) for i in range(args.repeats)]
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    summary = {"requests": args.requests, "lost_per_run": lost}
    print(json.dumps({**summary, "median_lost": statistics.median(lost)}))


if __name__ == "__main__":
    main()
