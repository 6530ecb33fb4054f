"""Training pipeline benchmark: wall time of the whole run and of each step, on the real data.

    .venv/bin/python benchmarks/training_benchmark.py [--repeats 2] [--config configs/training.yaml]

Runs in fresh, isolated ZenML/MLflow/BentoML stores under a temp dir (never your own). Step times
come from ZenML's step run start/end times. Model fitting (GridSearchCV, out-of-fold predictions,
scoring) is named separately from ZenML/MLflow overhead. The baseline is the same fitting in plain
scikit-learn (no ZenML, no MLflow), measured in the same process; medians over the repeats.
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from churn.settings import Settings  # noqa: E402

REAL_DATA = Settings().real_data


def isolate() -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="churn-train-bench-"))
    os.environ.update(
        {
            "ZENML_CONFIG_PATH": str(scratch / "zenml"),
            "BENTOML_HOME": str(scratch / "bentoml"),
            "CHURN_MLFLOW_TRACKING_URI": f"sqlite:///{scratch / 'mlruns.db'}",
            "CHURN_PREDICTION_DB": f"sqlite:///{scratch / 'predictions.db'}",
            "CHURN_REPORTS_DIR": str(scratch / "reports"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_LOGGING_VERBOSITY": "WARN",
            "BENTOML_DO_NOT_TRACK": "True",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        }
    )
    return scratch


def plain_sklearn_seconds(config_path: Path, data: Path) -> dict[str, float]:
    """The model work of the pipeline without ZenML or MLflow: the baseline."""
    from sklearn.model_selection import train_test_split

    from churn.data import load_clean
    from churn.schema import TARGET
    from churn.training.candidates import grids_for
    from churn.training.config import load_run_config
    from churn.training.metrics import classification_metrics
    from churn.training.search import best_of, features_and_target, out_of_fold_proba, tune
    from churn.training.threshold import choose_threshold

    p = load_run_config(config_path).parameters
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    frame = load_clean(data)
    train, test = train_test_split(
        frame, test_size=p.test_size, stratify=frame[TARGET], random_state=p.seed
    )
    times["load_clean_split"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = [tune(n, g, train, p.cv_folds, p.seed) for n, g in grids_for(p.grids).items()]
    times["grid_search"] = time.perf_counter() - t0
    best = best_of(results)
    t0 = time.perf_counter()
    oof = out_of_fold_proba(best.pipeline, train, p.cv_folds, p.seed)
    threshold = choose_threshold(
        train[TARGET].to_numpy(), oof, p.offer_cost, p.saved_customer_value
    ).threshold
    times["threshold_oof"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    X, y = features_and_target(test)
    classification_metrics(y, best.pipeline.predict_proba(X)[:, 1], threshold)
    times["evaluate"] = time.perf_counter() - t0
    times["total"] = sum(times.values())
    return times


def pipeline_seconds(config_path: Path, data: Path) -> dict[str, Any]:
    from pipelines.training import run_training

    t0 = time.perf_counter()
    run = run_training(config_path, data)
    wall = time.perf_counter() - t0
    from zenml.client import Client

    run = Client().get_pipeline_run(run.id)
    steps: dict[str, float] = {}
    for name, step_run in run.steps.items():
        if step_run.start_time and step_run.end_time:
            steps[name] = (step_run.end_time - step_run.start_time).total_seconds()
    meta = run.steps["train_candidates"].run_metadata
    search = meta.get("search_seconds", {})
    fitting = float(sum(search.values())) if isinstance(search, dict) else 0.0
    if run.end_time and run.start_time:
        run_seconds = (run.end_time - run.start_time).total_seconds()
    else:
        run_seconds = wall
    return {
        "wall_incl_client": wall,
        "pipeline_run": run_seconds,
        "steps": steps,
        "grid_search_in_train_step": fitting,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "training.yaml")
    parser.add_argument("--data", type=Path, default=REAL_DATA)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"error: no data at {args.data}", file=sys.stderr)
        return 2
    scratch = isolate()
    sys.path.insert(0, str(REPO))
    t0 = time.perf_counter()
    from tests.fixtures.training import apply_local_stack

    apply_local_stack()
    setup = time.perf_counter() - t0

    baselines = [plain_sklearn_seconds(args.config, args.data) for _ in range(args.repeats)]
    runs = [pipeline_seconds(args.config, args.data) for _ in range(args.repeats)]

    def med(values: list[float]) -> float:
        return statistics.median(values)

    base = med([b["total"] for b in baselines])
    pipe = med([r["pipeline_run"] for r in runs])
    wall = med([r["wall_incl_client"] for r in runs])
    fitting = med([r["grid_search_in_train_step"] for r in runs])
    step_names = list(runs[0]["steps"])
    steps = {n: med([r["steps"].get(n, 0.0) for r in runs]) for n in step_names}
    train_step = steps.get("train_candidates", 0.0)
    summary = {
        "data": str(args.data),
        "config": str(args.config),
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "stack_setup_seconds": setup,
        "pipeline_run_seconds": pipe,
        "wall_incl_client_seconds": wall,
        "steps_seconds": steps,
        "model_fitting_seconds": {
            "grid_search_in_train_step": fitting,
            "plain_sklearn_baseline_total": base,
            "plain_sklearn_baseline_parts": {
                k: med([b[k] for b in baselines]) for k in baselines[0] if k != "total"
            },
        },
        "overhead_seconds": {
            "zenml_mlflow_in_train_step": train_step - fitting,
            "pipeline_minus_plain_sklearn": pipe - base,
            "client_side_compile_and_imports": wall - pipe,
        },
        "ratio_pipeline_to_plain_sklearn": pipe / base if base else None,
    }
    print(f"training pipeline on {args.data.name}, median of {args.repeats} run(s):")
    print(f"  pipeline run (ZenML start..end)  {pipe:7.1f} s   (target < 90 s on 2 cores)")
    print(f"  wall incl. client compile        {wall:7.1f} s")
    for name, seconds in steps.items():
        print(f"    step {name:<20s}       {seconds:7.1f} s")
    print(f"  model fitting, plain sklearn     {base:7.1f} s   (baseline, same process)")
    print(f"  grid search inside the pipeline  {fitting:7.1f} s")
    print(f"  ZenML/MLflow overhead            {pipe - base:7.1f} s   (pipeline - baseline)")
    print(f"  ratio pipeline / plain sklearn   {pipe / base:7.2f}x")
    out = args.out or Path(os.environ["CHURN_REPORTS_DIR"]) / "training_benchmark.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"figures: {out} (scratch stores in {scratch})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
