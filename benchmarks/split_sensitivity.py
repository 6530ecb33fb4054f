"""How much the test split, rather than the model, decides the test figures.

    .venv/bin/python benchmarks/split_sensitivity.py [--data CSV] [--seeds 42 0 1 2]

For each model family and each split seed: 5-fold CV ROC-AUC on the training part (what the
pipeline chooses by), then test ROC-AUC and accuracy at 0.5 on the 20% test part. Prints one row
per model: the figures on the first seed (the configured one, 42) and the mean over all seeds.
Single-threaded; about 2 minutes per seed on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import SplineTransformer
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from churn.data import load_clean  # noqa: E402
from churn.features import NUMERIC_INPUTS, ChurnEncoder  # noqa: E402
from churn.schema import FEATURE_NAMES, TARGET  # noqa: E402
from churn.settings import Settings  # noqa: E402
from churn.training.candidates import FAMILIES  # noqa: E402
from churn.training.engineered import EncodedInteractions  # noqa: E402

REAL_DATA = Settings().real_data


def _lr() -> BaseEstimator:
    """The pipeline's logistic-regression candidate (interactions) at its chosen C."""
    return FAMILIES["logistic_regression"].factory(0).set_params(clf__C=0.1)


def _spline_lr() -> BaseEstimator:
    dense = list(range(len(NUMERIC_INPUTS)))
    splines = ColumnTransformer(
        [("spline", SplineTransformer(n_knots=6, degree=3), dense)], remainder="passthrough"
    )
    return Pipeline(
        [
            ("interact", EncodedInteractions()),
            ("spline", splines),
            ("clf", LogisticRegression(C=0.1, max_iter=5000)),
        ]
    )


def _hgb() -> BaseEstimator:
    """The pipeline's gradient-boosting candidate at the config's grid point."""
    params = {k: v[0] for k, v in FAMILIES["hist_gradient_boosting"].default_grid.items()}
    return FAMILIES["hist_gradient_boosting"].factory(0).set_params(**params)


def _rf() -> BaseEstimator:
    return RandomForestClassifier(
        n_estimators=300,
        min_samples_leaf=10,
        max_features=0.3,
        max_samples=0.5,
        random_state=0,
        n_jobs=1,
    )


MODELS: dict[str, Callable[[], BaseEstimator]] = {
    "LR + interactions (pipeline's choice)": _lr,
    "plain LR": lambda: LogisticRegression(C=0.1, max_iter=3000),
    "LR + interactions + splines": _spline_lr,
    "HistGradientBoosting": _hgb,
    "random forest (300 trees)": _rf,
    "soft vote LR + HGB": lambda: VotingClassifier([("lr", _lr()), ("hgb", _hgb())], voting="soft"),
    "soft vote LR + HGB + RF": lambda: VotingClassifier(
        [("lr", _lr()), ("hgb", _hgb()), ("rf", _rf())], voting="soft"
    ),
}


def evaluate(
    make: Callable[[], BaseEstimator], frame: pd.DataFrame, seed: int
) -> tuple[float, float, float]:
    """(CV ROC-AUC on the training part, test ROC-AUC, test accuracy at 0.5) for one split."""
    train, test = train_test_split(frame, test_size=0.2, stratify=frame[TARGET], random_state=seed)
    features = list(FEATURE_NAMES)
    pipeline = Pipeline([("encode", ChurnEncoder()), ("model", make())])
    with threadpool_limits(1):
        cv = cross_val_score(
            pipeline,
            train[features],
            train[TARGET],
            scoring="roc_auc",
            cv=StratifiedKFold(5, shuffle=True, random_state=seed),
        )
        pipeline.fit(train[features], train[TARGET])
    proba = pipeline.predict_proba(test[features])[:, 1]
    y = test[TARGET].to_numpy()
    return float(cv.mean()), float(roc_auc_score(y, proba)), float(accuracy_score(y, proba >= 0.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REAL_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 0, 1, 2, 3, 4])
    args = parser.parse_args()
    if not args.data.exists():
        print(f"error: no data at {args.data} (pass --data CSV)", file=sys.stderr)
        return 1
    frame = load_clean(args.data)
    first = args.seeds[0]
    print(f"{len(frame)} rows; split seeds {args.seeds}; test share 0.2")
    print(
        f"{'model':40s} {'CV':>6s} {'test@' + str(first):>9s} {'acc@' + str(first):>8s} "
        f"{'mean test':>10s} {'range':>13s}"
    )
    for name, make in MODELS.items():
        rows = [evaluate(make, frame, seed) for seed in args.seeds]
        tests = [r[1] for r in rows]
        print(
            f"{name:40s} {np.mean([r[0] for r in rows]):6.3f} {rows[0][1]:9.3f} {rows[0][2]:8.3f} "
            f"{np.mean(tests):10.3f} {min(tests):6.3f}-{max(tests):.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
