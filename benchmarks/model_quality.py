"""Repeated stratified K-fold comparison of candidate models and feature sets (issue #18).

    .venv/bin/python benchmarks/model_quality.py [--data CSV] [--folds 5] [--repeats 3]

Every model is scored on the SAME folds (RepeatedStratifiedKFold over all labelled rows), so the
per-fold difference to the baseline (the pipeline's logistic regression) is paired: a change is kept
only when its mean paired difference is above the spread (std) of that difference. Prints mean and
std of ROC-AUC, accuracy at 0.5 and Brier per model, and the paired ROC-AUC difference.
Single-threaded (`threadpool_limits(1)`, `n_jobs=1`); a few minutes on 2 shared cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from churn.data import load_clean  # noqa: E402
from churn.features import ChurnEncoder  # noqa: E402
from churn.schema import FEATURE_NAMES, TARGET  # noqa: E402
from churn.settings import Settings  # noqa: E402
from churn.training.candidates import FAMILIES  # noqa: E402
from churn.training.engineered import DomainFeatureUnion  # noqa: E402

REAL_DATA = Settings().real_data


def _at_default(name: str) -> BaseEstimator:
    """A pipeline candidate's estimator at the first point of its default grid."""
    est = FAMILIES[name].factory(0)
    prefix = FAMILIES[name].param_prefix.removeprefix("model__")
    params = {f"{prefix}{k}": v[0] for k, v in FAMILIES[name].default_grid.items()}
    if name == "logistic_regression":
        params = {"clf__C": 0.1}
    return est.set_params(**params)


def _encoded(model: Callable[[], BaseEstimator], domain: bool = False) -> Callable[[], Pipeline]:
    def make() -> Pipeline:
        encode = DomainFeatureUnion() if domain else ChurnEncoder()
        return Pipeline([("encode", encode), ("model", model())])

    return make


def _lr() -> BaseEstimator:
    return _at_default("logistic_regression")


def _hgb() -> BaseEstimator:
    return _at_default("hist_gradient_boosting")


def _lgbm() -> BaseEstimator:
    return _at_default("lightgbm")


MODELS: dict[str, Callable[[], Pipeline]] = {
    "LR + interactions (baseline)": _encoded(_lr),
    "plain LR": _encoded(lambda: LogisticRegression(C=0.1, max_iter=3000)),
    "HistGradientBoosting": _encoded(_hgb),
    "random forest": _encoded(lambda: _at_default("random_forest")),
    "LightGBM": _encoded(_lgbm),
    "soft vote LR + LightGBM": _encoded(
        lambda: VotingClassifier([("lr", _lr()), ("lgbm", _lgbm())], voting="soft")
    ),
    "stacking LR + LightGBM (LR meta)": _encoded(
        lambda: StackingClassifier(
            [("lr", _lr()), ("lgbm", _lgbm())],
            final_estimator=LogisticRegression(max_iter=1000),
            cv=5,
            stack_method="predict_proba",
        )
    ),
    "LR + interactions + domain features": _encoded(_lr, domain=True),
    "LightGBM + domain features": _encoded(_lgbm, domain=True),
}


def score_all(
    frame: pd.DataFrame, folds: int, repeats: int, seed: int, only: list[str] | None
) -> dict[str, np.ndarray]:
    """(n_folds*repeats, 3) arrays of ROC-AUC, accuracy at 0.5, Brier per model, same folds."""
    X = frame[list(FEATURE_NAMES)]
    y = frame[TARGET].to_numpy(dtype=np.int64)
    splits = list(
        RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed).split(X, y)
    )
    out: dict[str, np.ndarray] = {}
    for name, make in MODELS.items():
        if only and not any(o.lower() in name.lower() for o in only):
            continue
        start = time.perf_counter()
        rows = []
        with threadpool_limits(1):
            for train_idx, test_idx in splits:
                model = clone(make()).fit(X.iloc[train_idx], y[train_idx])
                p = model.predict_proba(X.iloc[test_idx])[:, 1]
                yt = y[test_idx]
                rows.append(
                    (roc_auc_score(yt, p), accuracy_score(yt, p >= 0.5), brier_score_loss(yt, p))
                )
        out[name] = np.asarray(rows)
        print(f"  ({name}: {time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REAL_DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="substrings of model names to run")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"error: no data at {args.data} (pass --data CSV)", file=sys.stderr)
        return 1
    frame = load_clean(args.data)
    print(
        f"{len(frame)} rows; RepeatedStratifiedKFold {args.folds}x{args.repeats} "
        f"(seed {args.seed}), every model on the same folds"
    )
    scores = score_all(frame, args.folds, args.repeats, args.seed, args.only)
    base = next(iter(scores.values()))
    header = (
        f"{'model':38s} {'ROC-AUC':>15s} {'acc@0.5':>15s} {'Brier':>7s} {'AUC diff vs first':>20s}"
    )
    print(header)
    for name, s in scores.items():
        diff = s[:, 0] - base[:, 0]
        print(
            f"{name:38s} {s[:, 0].mean():.4f} ± {s[:, 0].std():.4f} "
            f"{s[:, 1].mean():.4f} ± {s[:, 1].std():.4f} {s[:, 2].mean():7.4f} "
            f"{diff.mean():+.4f} ± {diff.std():.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
