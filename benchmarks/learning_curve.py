"""The learning curve behind the training run's row caps (issue #37, docs/training.md).

For each candidate family at its configured setting (configs/training.yaml's grids; random forest
at its default grid), fitted on a stratified sample of N generated customers (`churn generate`'s
generator, seed 7) for N from 10,000 up: ROC-AUC on 200,000 held-out generated customers (seed 99)
and on the real sample (the 7,043 IBM customers, ../shared/data), and the fit's seconds. Then, for
the bootstrap cap, the width and cost of the test ROC-AUC interval (1,000 resamples) against the
rows it resamples from. Single-threaded, as the pipeline fits.

    .venv/bin/python benchmarks/learning_curve.py --out benchmarks/results/learning_curve.json \
        --plot docs/img/learning_curve.png --real ../shared/data/telco_customer_churn.csv
    .venv/bin/python benchmarks/learning_curve.py --part bootstrap --out ...   # the interval part
    .venv/bin/python benchmarks/learning_curve.py --part plot --out ... --plot ...   # redraw

Points are merged into `--out` (a family and size measured again replaces its point), so the
large sizes can be added later: `--sizes 3000000 10000000 --pool customers_10000000.csv` reads
the pool from a `churn generate --seed 7` file a chunk at a time, in the compact types (45 bytes a
row; generating 10,000,000 customers in memory would hold them as strings, ~15 GB), and
`--families` limits the families fitted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from churn.data import load_clean  # noqa: E402
from churn.generator import generate  # noqa: E402
from churn.schema import FEATURE_NAMES, TARGET  # noqa: E402
from churn.settings import Settings  # noqa: E402
from churn.training.candidates import FAMILIES, build_pipeline, param_grid  # noqa: E402
from churn.training.frames import compact  # noqa: E402
from churn.training.metrics import bootstrap_intervals  # noqa: E402
from churn.training.sampling import stratified_sample  # noqa: E402

SIZES = [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000]
MAX_ROWS = {"random_forest": 300_000}  # the slowest family (and not configured): its curve stops
BOOTSTRAP_ROWS = [10_000, 20_000, 50_000, 100_000, 200_000]


def configured_grids() -> dict[str, dict[str, list[Any]]]:
    grids = yaml.safe_load((ROOT / "configs" / "training.yaml").read_text())["parameters"]["grids"]
    return {**{"random_forest": FAMILIES["random_forest"].default_grid}, **grids}


def model(name: str, grid: dict[str, list[Any]]) -> Any:
    """The family's pipeline at the first value of each grid entry (one setting per family)."""
    first = {k: v[0] for k, v in param_grid(name, grid).items()}
    return build_pipeline(name, seed=42).set_params(**first)


def auc(pipeline: Any, frame: Any) -> float:
    proba = pipeline.predict_proba(frame[list(FEATURE_NAMES)])[:, 1]
    return float(roc_auc_score(frame[TARGET].to_numpy(), proba))


def read_pool(path: Path) -> Any:
    """A customers file as one compact frame, checked and typed a chunk at a time."""
    from churn.training.validation import check_file_in_chunks

    result = check_file_in_chunks(path)
    if result.violations:
        raise SystemExit(f"{path}: {result.violations[0]}")
    return result.frame


def merged(out: Path, new: list[dict[str, Any]]) -> dict[str, Any]:
    """`out`'s data with these points added (replacing a family's point at the same size)."""
    data = json.loads(out.read_text()) if out.exists() else {"curve": []}
    keys = {(r["family"], r["rows"]) for r in new}
    kept = [r for r in data["curve"] if (r["family"], r["rows"]) not in keys]
    data["curve"] = sorted(kept + new, key=lambda r: (r["rows"], r["family"]))
    return data


def curve(
    sizes: list[int],
    out: Path,
    real_path: Path,
    pool_path: Path | None = None,
    families: list[str] | None = None,
) -> list[dict[str, Any]]:
    pool = read_pool(pool_path) if pool_path else compact(generate(max(sizes), seed=7))
    if len(pool) < max(sizes):
        raise SystemExit(f"the pool has {len(pool):,} rows, fewer than {max(sizes):,}")
    heldout = compact(generate(200_000, seed=99))
    real = compact(load_clean(real_path)) if real_path.exists() else None
    results: list[dict[str, Any]] = []
    for rows in sizes:
        sample = stratified_sample(pool, rows, seed=42)
        X, y = sample[list(FEATURE_NAMES)], sample[TARGET].to_numpy()
        for name, grid in configured_grids().items():
            if families and name not in families:
                continue
            if rows > MAX_ROWS.get(name, max(sizes)):
                continue
            pipeline = model(name, grid)
            start = time.perf_counter()
            with threadpool_limits(1):
                pipeline.fit(X, y)
            seconds = time.perf_counter() - start
            row = {
                "family": name,
                "rows": rows,
                "fit_seconds": round(seconds, 2),
                "heldout_roc_auc": auc(pipeline, heldout),
                "real_roc_auc": auc(pipeline, real) if real is not None else None,
            }
            results.append(row)
            print(json.dumps(row), flush=True)
            out.write_text(json.dumps(merged(out, [row]), indent=1))
    return results


def bootstrap_cost() -> list[dict[str, Any]]:
    """The 95% interval's width and the seconds of 1,000 resamples against the rows resampled
    (the configured logistic regression fitted on 100,000 generated customers)."""
    heldout = compact(generate(max(BOOTSTRAP_ROWS), seed=99))
    train = compact(generate(100_000, seed=7))
    pipeline = model("logistic_regression", configured_grids()["logistic_regression"])
    with threadpool_limits(1):
        pipeline.fit(train[list(FEATURE_NAMES)], train[TARGET].to_numpy())
    rows = []
    for n in BOOTSTRAP_ROWS:
        sample = stratified_sample(heldout, n, seed=42)
        proba = pipeline.predict_proba(sample[list(FEATURE_NAMES)])[:, 1]
        start = time.perf_counter()
        ci = bootstrap_intervals(sample[TARGET].to_numpy(), proba)
        row = {
            "rows": n,
            "roc_auc": float(roc_auc_score(sample[TARGET].to_numpy(), proba)),
            "roc_auc_ci_width": ci["roc_auc_ci_high"] - ci["roc_auc_ci_low"],
            "seconds": round(time.perf_counter() - start, 2),
        }
        rows.append(row)
        print(json.dumps({"bootstrap": row}), flush=True)
    return rows


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), dpi=80)
    families = sorted({r["family"] for r in data["curve"]})
    for name in families:
        points = [r for r in data["curve"] if r["family"] == name]
        x = [r["rows"] for r in points]
        axes[0].plot(x, [r["heldout_roc_auc"] for r in points], "o-", label=name)
        if points[0]["real_roc_auc"] is not None:
            axes[1].plot(x, [r["real_roc_auc"] for r in points], "o-", label=name)
        axes[2].plot(x, [r["fit_seconds"] for r in points], "o-", label=name)
    titles = (
        "held-out generated (200,000)",
        "real sample (6,000)",
        "fit seconds (1 thread, shared)",
    )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("training rows")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ROC-AUC")
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--part", choices=("curve", "bootstrap", "plot"), default="curve")
    parser.add_argument("--real", type=Path, default=Settings().real_data, help="the real sample")
    parser.add_argument("--pool", type=Path, default=None, help="customers file (seed 7) to sample")
    parser.add_argument("--families", nargs="+", default=None, help="only these families")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.part == "curve":
        curve(sorted(args.sizes), args.out, args.real, args.pool, args.families)
    elif args.part == "bootstrap":
        data = json.loads(args.out.read_text()) if args.out.exists() else {"curve": []}
        data["bootstrap"] = bootstrap_cost()
        args.out.write_text(json.dumps(data, indent=1))
    if args.plot is not None:
        plot(json.loads(args.out.read_text()), args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
