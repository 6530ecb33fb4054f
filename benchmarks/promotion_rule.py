"""How often the promotion rule promotes noise, and how often a real gain (simulated test splits).

    .venv/bin/python benchmarks/promotion_rule.py [--trials 80]

Each trial draws a 1,200-row test split (a latent churn signal, ~26% churners) and two models that
see the signal through Gaussian noise; the paired bootstrap (`paired_auc_difference`, 500
resamples) is fed to `decide_promotion` with the shipped floor and several evidence settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from churn.training.metrics import paired_auc_difference
from churn.training.promotion import EvidenceRule, QualityFloor, decide_promotion

CASES = {"equal (noise)": (0.8, 0.8), "better": (0.7, 0.8), "much better": (0.6, 0.8)}
RULES = [(0.8, -0.005), (0.8, 0.0), (0.95, -0.005)]
ABOVE_FLOOR = {"roc_auc": 0.85, "accuracy_at_0_5": 0.80}


def trial(new_noise: float, old_noise: float, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(1000 + seed)
    signal = rng.normal(size=1200)
    y = (signal + rng.normal(scale=0.8, size=1200) > 0.9).astype(int)
    old = signal + rng.normal(scale=old_noise, size=1200)
    new = signal + rng.normal(scale=new_noise, size=1200)
    return paired_auc_difference(y, new, old, n_resamples=500, seed=seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=80)
    args = parser.parse_args()
    print(f"{args.trials} simulated test splits per case; share of trials promoted")
    header = "case              mean AUC gain  " + "  ".join(
        f"share>={s} low>{low:+.3f}" for s, low in RULES
    )
    print(header)
    for case, (new_noise, old_noise) in CASES.items():
        paired = [trial(new_noise, old_noise, s) for s in range(args.trials)]
        gain = np.mean([(p["difference_ci_low"] + p["difference_ci_high"]) / 2 for p in paired])
        rates = []
        for share, low in RULES:
            rule = EvidenceRule(min_share_better=share, min_difference_ci_low=low)
            promoted = [
                decide_promotion(ABOVE_FLOOR, p, QualityFloor(), rule).promoted for p in paired
            ]
            rates.append(f"{np.mean(promoted):>{len(f'share>={share} low>{low:+.3f}')}.2f}")
        print(f"{case:17s} {gain:+13.4f}  " + "  ".join(rates), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
