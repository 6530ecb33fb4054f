"""Training and the drift check at a telco's size: wall time and peak RSS against rows.

Each measurement is the command a user types, under `/usr/bin/time -v` (peak RSS of the whole
process): `churn train --config configs/training.yaml --data FILE` on customers from `churn
generate --rows N`, and `churn monitor` over a window of N logged predictions. The log is filled
straight through the service's prediction-log writer (`bentos.row_insert.RowInsert`), not over
HTTP: a pool of generated customers scored by the production model, each row with its own request
id, spread over the last 24 hours; `OUTCOMES` of the pool's customers have an outcome (their
generated label) observed at the window's end, as the realized metrics read them. With `--repeat K`
each size runs K times and the median is reported. Goals: training (issue 37, with the row caps of
configs/training.yaml) 1,000,000 customers in <= 3 min and <= 3 GB, 10,000,000 in <= 15 min and
<= 6 GB; the drift check (issue 24) over 1,000,000 logged rows in <= 2 min and <= 3 GB. Each run's
test ROC-AUC and the rows each step saw are printed with it (from the run's own metadata).

It uses the ZenML, MLflow and BentoML stores of the current HOME (training registers model
versions there, as `make train` does); run it after `make run`. The machine's load average is
recorded beside each figure (a shared machine).

    .venv/bin/python benchmarks/scale_train_monitor.py train --rows 10000 100000 1000000
    .venv/bin/python benchmarks/scale_train_monitor.py monitor --rows 10000 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timed import Row, rows_table, run_timed  # noqa: E402

CHURN = ROOT / ".venv" / "bin" / "churn"
POOL = 100_000  # distinct customers cycled through the log
OUTCOMES = 5_000  # of them with an outcome at the window's end (the realized-metrics read)
WRITTEN_MAX = 1_000_000  # larger logs are SQL copies of this one (`copy_log`)
GOALS = {  # (seconds, MB) by rows
    "train": {1_000_000: (3 * 60, 3 * 1024), 10_000_000: (15 * 60, 6 * 1024)},
    "monitor": {1_000_000: (120, 3 * 1024)},
}


def timed(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run `cmd` under /usr/bin/time -v (stderr to `log`): seconds, CPU, peak RSS, loads."""
    run = run_timed(cmd, log=log)
    return {
        "seconds": round(run.wall_s, 1),
        "peak_mb": round(run.peak_mb),
        # CPU seconds (user + system): on a shared, loaded machine the wall time stretches
        "cpu_seconds": round(run.cpu_s, 1),
        "exit": run.exit_code,
        "stdout": run.stdout,
        "load_before": run.load_before,
        "load_after": run.load_after,
    }


def customers_file(rows: int, workdir: Path) -> Path:
    path = workdir / f"customers_{rows}.csv"
    if not path.exists():
        subprocess.run(
            [str(CHURN), "generate", "--rows", str(rows), "--seed", "7", "--out", str(path)],
            check=True,
        )
    return path


def step_seconds(text: str) -> dict[str, float]:
    """ZenML's 'Step X has finished in Ys' lines of a training run's output."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    found = re.findall(r"Step (\w+) has finished in (?:(\d+)h)?(?:(\d+)m)?([0-9.]+)s", plain)
    return {n: int(h or 0) * 3600 + int(m or 0) * 60 + float(s) for n, h, m, s in found}


def bench_train(rows: int, workdir: Path, config: Path) -> dict[str, Any]:
    data = customers_file(rows, workdir)
    log = workdir / f"train_{rows}.log"
    result = timed([str(CHURN), "train", "--config", str(config), "--data", str(data)], log)
    result["steps"] = step_seconds(result["stdout"] + log.read_text(errors="replace"))
    if result["exit"] == 0:
        result.update(run_figures(run_name(result["stdout"])))
    return result


def run_name(stdout: str) -> str | None:
    """The pipeline run `churn train` names on its last line ({"pipeline_run": ...})."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{") and "pipeline_run" in line:
            return str(json.loads(line)["pipeline_run"])
    return None


def run_figures(name: str | None) -> dict[str, Any]:
    """The run's test ROC-AUC, promotion and rows seen per step (its metadata); the latest
    training run when the name is unknown (another run in the same stores would be taken)."""
    from zenml.client import Client

    run = (
        Client().get_pipeline_run(name)
        if name
        else Client()
        .list_pipeline_runs(pipeline_name="training_pipeline", sort_by="desc:created", size=1)
        .items[0]
    )
    meta = {name: step.run_metadata for name, step in run.steps.items()}
    return {
        "test_roc_auc": meta["evaluate"]["test_metrics"]["roc_auc"],
        "promoted": meta["promote"]["promotion"]["promoted"],
        "rows_seen": {
            "contract": meta["validate"]["contract_rows"],
            "search": meta["train_candidates"]["search_rows"],
            "split_model_fit": meta["train_candidates"]["split_model_rows"],
            "evaluation": meta["evaluate"]["evaluation_rows"],
            "refit": meta["refit"]["refit_rows"],
            "promotion_bootstrap": meta["promote"]["bootstrap_rows"],
        },
    }


def production_scorer() -> tuple[str, Any]:
    """The production version's name and its sklearn pipeline (what the service serves)."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    from churn.settings import get_settings

    version = Client().get_model_version(get_settings().model_name, ModelStages.PRODUCTION)
    return str(version.name), version.get_artifact("churn_model").load()


def fill_log(url: str, rows: int) -> None:
    """`rows` logged predictions written by the service's writer, newest last."""
    from bentos.prediction_log import open_database
    from bentos.row_insert import RowInsert
    from churn.db import outcomes
    from churn.db.tables import prediction_log
    from churn.generator import generate
    from churn.outcomes import Outcome
    from churn.schema import FEATURE_NAMES, ID_COLUMN, TARGET

    version, model = production_scorer()
    pool = generate(min(POOL, rows), seed=11)
    proba = model.predict_proba(pool[list(FEATURE_NAMES)])[:, 1]
    records = pool[[*FEATURE_NAMES, ID_COLUMN]].to_dict("records")
    engine = open_database(url)
    insert = RowInsert(engine, prediction_log)
    start = datetime.now(UTC) - timedelta(hours=24)
    step = timedelta(hours=24) / rows
    batch = 20_000
    for first in range(0, rows, batch):
        out = []
        for i in range(first, min(rows, first + batch)):
            k = i % len(records)
            out.append(
                {
                    **records[k],
                    "request_id": uuid.uuid4().hex,
                    "created_at": start + i * step,
                    "model_version": version,
                    "churn_probability": float(proba[k]),
                    "churn": bool(proba[k] >= 0.5),
                }
            )
        with engine.begin() as conn:
            insert.execute(conn, out)
    observed = datetime.now(UTC) - timedelta(minutes=1)
    known = pool.head(OUTCOMES)
    items = [
        Outcome(customerID=cid, churned=bool(label), observed_at=observed)
        for cid, label in zip(known[ID_COLUMN], known[TARGET], strict=True)
    ]
    outcomes.store(engine, items, source="api", secret="")  # the log holds raw ids here
    engine.dispose()


def copy_log(src: Path, dest: Path, rows: int) -> None:
    """A log of `rows` rows made from the `WRITTEN_MAX`-row log (filled through the writer) by
    SQL copies of it, each row with a new request id; the copies keep their created_at, so
    the outcomes still join. 10 minutes of the writer at 10M become about two."""
    import sqlite3

    shutil.copyfile(src, dest)
    with sqlite3.connect(dest) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(prediction_log)") if r[1] != "id"]
        names = ", ".join(f'"{c}"' for c in cols)
        for k in range(1, -(-rows // WRITTEN_MAX)):
            left = min(WRITTEN_MAX, rows - k * WRITTEN_MAX)
            picked = names.replace('"request_id"', f"request_id || '-{k}'")
            conn.execute(
                f"INSERT INTO prediction_log ({names}) SELECT {picked} "
                f"FROM prediction_log WHERE id <= {left}"
            )
            conn.commit()
            print(f"log copy {k}: {k * WRITTEN_MAX + left:,} rows", file=sys.stderr, flush=True)


def bench_monitor(rows: int, workdir: Path, sample: int | None) -> dict[str, Any]:
    db = workdir / f"log_{rows}.db"
    url = f"sqlite:///{db}"
    if not db.exists() and rows > WRITTEN_MAX:
        written = workdir / f"log_{WRITTEN_MAX}.db"
        if not written.exists():
            fill_log(f"sqlite:///{written}", WRITTEN_MAX)
        copy_log(written, db, rows)
    elif not db.exists():
        fill_log(url, rows)
    run_config = yaml.safe_load((ROOT / "configs" / "monitoring.yaml").read_text())
    run_config["parameters"]["config"].update(
        window_rows=rows,
        prediction_db=url,
        reports_dir=str(workdir / "reports"),
        live_sample_rows=sample,
        retrain_on_drift=False,
        rollback_on_degradation=False,
    )
    config = workdir / f"monitoring_{rows}.yaml"
    config.write_text(yaml.safe_dump(run_config))
    result = timed([str(CHURN), "monitor", "--config", str(config)], workdir / f"mon_{rows}.log")
    line = result.pop("stdout").strip().splitlines()
    result["decision"] = json.loads(line[-1]) if line else None
    return result


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
        "peak_mb": statistics.median(r["peak_mb"] for r in runs),
        "runs": runs,
    }


def table(kind: str, results: dict[int, dict[str, Any]]) -> str:
    """docs/scale.md's rows table, then each goal whose size was measured."""
    rows = [
        Row(f"churn {kind}", n, r["seconds"], r["cpu_seconds"], r["peak_mb"], 0, len(r["runs"]))
        for n, r in sorted(results.items())
    ]
    lines = [rows_table(rows)]
    for goal_rows, (goal_s, goal_mb) in GOALS[kind].items():
        if goal_rows not in results:
            continue
        r = results[goal_rows]
        met = r["seconds"] <= goal_s and r["peak_mb"] <= goal_mb
        lines.append(
            f"\ngoal at {goal_rows:,} rows: <= {goal_s} s and <= {goal_mb:,} MB: "
            f"{'met' if met else 'NOT met'} ({r['seconds']:.0f} s, {r['peak_mb']:,.0f} MB)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("train", "monitor"))
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (median)")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "training.yaml")
    parser.add_argument(
        "--sample", default="config", help="monitor: live_sample_rows (a number, 'none', 'config')"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="keep data and logs here")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="churn-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sample: int | None = None
    if args.sample == "config":
        cfg = yaml.safe_load((ROOT / "configs" / "monitoring.yaml").read_text())
        sample = cfg["parameters"]["config"].get("live_sample_rows")
    elif args.sample != "none":
        sample = int(args.sample)
    results: dict[int, dict[str, Any]] = {}
    for rows in args.rows:
        runs = []
        for _ in range(args.repeat):
            run = (
                bench_train(rows, workdir, args.config)
                if args.what == "train"
                else bench_monitor(rows, workdir, sample)
            )
            print(json.dumps({"what": args.what, "rows": rows, **run}), flush=True)
            if run["exit"] != 0:
                print(f"{args.what} at {rows} rows failed: see {workdir}", file=sys.stderr)
                return 1
            runs.append(run)
        results[rows] = median_of(runs)
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, workdir {workdir}")
    print(table(args.what, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
