"""The figures behind the stat-test thresholds: drift scores per scenario, window size and seed.

    .venv/bin/python -m tests.monitoring.scenario_sweep [--seeds 3] [--real]

For each scenario and window it prints the decision rate over seeds, the smallest score of the
features the scenario moves, and the largest score of the features it leaves alone, so the margin
between signal and noise at the configured thresholds is visible.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn.features import ChurnEncoder
from churn.generator import generate
from churn.monitoring.config import MonitoringConfig
from churn.monitoring.decision import decide
from churn.schema import FEATURE_NAMES, TARGET

MOVED = {
    "none": set(),
    "price_rise": {"MonthlyCharges"},
    "contract_shift": {"Contract", "tenure"},
    "fiber_surge": {"InternetService", "MonthlyCharges"},
}


def main() -> None:
    from steps.monitoring.evidently_report import analyse

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--real", action="store_true", help="reference = the real IBM data")
    args = parser.parse_args()
    cfg = MonitoringConfig()
    if args.real:
        from churn.data import load_clean
        from churn.settings import Settings

        full = load_clean(Settings().real_data)
        reference = full.sample(4000, random_state=0)
    else:
        reference = generate(4000, seed=1)
    model = Pipeline([("encode", ChurnEncoder()), ("model", LogisticRegression(max_iter=500))])
    model.fit(reference[list(FEATURE_NAMES)], reference[TARGET])
    ref_pred = pd.Series(model.predict_proba(reference[list(FEATURE_NAMES)])[:, 1])
    print(f"reference: {'real' if args.real else 'generator'} data, {len(reference)} rows")
    print("scenario        rows  drift  min(moved)            max(other)            prediction")
    for scenario, moved in MOVED.items():
        for rows in (1000, 2000):
            hits, low, high, pred = 0, 9.0, 0.0, []
            low_name = high_name = ""
            for seed in range(args.seeds):
                live = generate(rows, seed=1000 + seed, drift=scenario)
                cur_pred = pd.Series(model.predict_proba(live[list(FEATURE_NAMES)])[:, 1])
                result = analyse(cfg, reference, live, ref_pred, cur_pred, render_html=False)
                decision = decide(
                    result.columns, result.prediction, cfg.drift_share_threshold, rows
                )
                hits += bool(decision.drift_detected)
                for col in result.columns:
                    if col.column in moved and col.score / col.threshold < low:
                        low, low_name = col.score / col.threshold, f"{col.column} {col.score:.3f}"
                    if col.column not in moved and col.score / col.threshold > high:
                        high, high_name = col.score / col.threshold, f"{col.column} {col.score:.3f}"
                pred.append(result.prediction.score if result.prediction else float("nan"))
            print(
                f"{scenario:15s} {rows:5d}  {hits}/{args.seeds}   {low_name or '-':21s} "
                f"{high_name:21s} {min(pred):.3f}-{max(pred):.3f}"
            )


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s)")
