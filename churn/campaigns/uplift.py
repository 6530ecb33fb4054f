"""Uplift modelling on a finished campaign: a two-model learner (one churn model on the treated,
one on the control arm; predicted uplift = P(churn | control) - P(churn | treated)), and the
evidence that decides whether the next plan may rank by it: on a held-out part of the campaign,
the Qini area of ranking by predicted uplift minus that of ranking by the production model's
risk, with a bootstrap interval. Uplift ranking is allowed only when the whole interval is above 0.

The learner is two logistic regressions on the project's feature encoding, stored as plain
numbers (JSON in the campaign store), never as a pickle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from churn.campaigns.plan import CONTROL, TREATED, CampaignError
from churn.features import ChurnEncoder
from churn.schema import FEATURE_NAMES

TEST_SHARE = 0.4
BOOTSTRAP_SAMPLES = 2000
"""Resamples behind the evidence's interval: its 2.5% tails rest on 50 draws each, not 10."""
CURVE_POINTS = 11
MIN_PER_ARM = 30
"""Fewer outcomes than this in an arm's training part, or in its held-out part: no model is
fitted, no evidence given (either would be noise)."""


@dataclass(frozen=True)
class TwoModelUplift:
    encoder_mean: list[float]
    encoder_scale: list[float]
    treated_coef: list[float]
    treated_intercept: float
    control_coef: list[float]
    control_intercept: float

    def _encode(self, features: pd.DataFrame) -> np.ndarray:
        enc = ChurnEncoder()
        enc.mean_ = np.asarray(self.encoder_mean)
        enc.scale_ = np.asarray(self.encoder_scale)
        return enc.transform(features[list(FEATURE_NAMES)])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Predicted uplift: the drop in churn probability an offer causes (can be negative)."""
        x = self._encode(features)

        def proba(coef: list[float], intercept: float) -> np.ndarray:
            return np.asarray(1.0 / (1.0 + np.exp(-(x @ np.asarray(coef) + intercept))))

        return proba(self.control_coef, self.control_intercept) - proba(
            self.treated_coef, self.treated_intercept
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> TwoModelUplift:
        return cls(**values)


def fit_two_model(features: pd.DataFrame, arm: np.ndarray, churned: np.ndarray) -> TwoModelUplift:
    enc = ChurnEncoder().fit(features[list(FEATURE_NAMES)])
    x = enc.transform(features[list(FEATURE_NAMES)])
    fitted = {}
    for name in (TREATED, CONTROL):
        rows = arm == name
        y = churned[rows].astype(int)
        if rows.sum() < MIN_PER_ARM or y.min() == y.max():
            raise CampaignError(
                f"the {name} arm has {int(rows.sum())} outcome(s) to learn from "
                f"({int(y.sum()) if len(y) else 0} churned): at least {MIN_PER_ARM}, "
                "with both churners and stayers, are needed"
            )
        model = LogisticRegression(C=0.3, max_iter=2000).fit(x[rows], y)
        fitted[name] = (model.coef_[0].tolist(), float(model.intercept_[0]))
    return TwoModelUplift(
        encoder_mean=enc.mean_.tolist(),
        encoder_scale=enc.scale_.tolist(),
        treated_coef=fitted[TREATED][0],
        treated_intercept=fitted[TREATED][1],
        control_coef=fitted[CONTROL][0],
        control_intercept=fitted[CONTROL][1],
    )


def qini_areas(
    score: np.ndarray, treated: np.ndarray, churned: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Qini curves of ranking by `score` (highest first), one per row of `weights` (bootstrap
    multiplicities, shape (B, n)): customers saved among the treated of the top k, per customer
    of the population, Q(k) = (Rc(k) Nt(k) / Nc(k) - Rt(k)) / N; and their areas (mean of Q over
    the population)."""
    order = np.argsort(-score, kind="stable")
    t, y, w = treated[order], churned[order], weights[:, order]
    nt, nc = np.cumsum(w * t, axis=1), np.cumsum(w * (1 - t), axis=1)
    rt, rc = np.cumsum(w * t * y, axis=1), np.cumsum(w * (1 - t) * y, axis=1)
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(nc > 0, rc * nt / nc, 0.0) - rt
    q = q / total
    area = (q * w).sum(axis=1) / total[:, 0]
    return q, area


@dataclass(frozen=True)
class UpliftEvidence:
    n_train: int
    n_test: int
    qini_uplift: float
    qini_risk: float
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    confidence: float
    use_uplift: bool
    reason: str
    curve: dict[str, list[float]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}


def _curve(q: np.ndarray) -> list[float]:
    n = q.shape[0]
    positions = np.linspace(0, n, CURVE_POINTS).astype(int)
    return [0.0 if i == 0 else round(float(q[i - 1]), 6) for i in positions]


def evaluate(
    model: TwoModelUplift,
    test: pd.DataFrame,
    samples: int = BOOTSTRAP_SAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> UpliftEvidence:
    """Qini areas of uplift vs risk ranking on `test` (features, `arm`, `churned`,
    `churn_probability`), the difference with a Poisson-bootstrap interval, and the verdict."""
    treated = (test["arm"].to_numpy() == TREATED).astype(float)
    churned = test["churned"].to_numpy(dtype=float)
    uplift = model.predict(test)
    risk = test["churn_probability"].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    weights = np.vstack([np.ones(len(test)), rng.poisson(1.0, (samples, len(test)))])
    q_up, a_up = qini_areas(uplift, treated, churned, weights)
    q_risk, a_risk = qini_areas(risk, treated, churned, weights)
    diffs = a_up[1:] - a_risk[1:]
    tail = (1 - confidence) / 2 * 100
    low, high = (float(v) for v in np.percentile(diffs, [tail, 100 - tail]))
    point = float(a_up[0] - a_risk[0])
    use = low > 0
    pct = f"{confidence:.0%}"
    reason = (
        f"ranking by predicted uplift beats ranking by risk: Qini area difference {point:+.4f}, "
        f"{pct} interval [{low:+.4f}, {high:+.4f}] above 0"
        if use
        else f"no evidence that uplift ranking beats risk ranking: Qini area difference "
        f"{point:+.4f}, {pct} interval [{low:+.4f}, {high:+.4f}] reaches 0 or below"
    )
    return UpliftEvidence(
        n_train=0,
        n_test=len(test),
        qini_uplift=float(a_up[0]),
        qini_risk=float(a_risk[0]),
        difference=point,
        difference_ci_low=low,
        difference_ci_high=high,
        confidence=confidence,
        use_uplift=use,
        reason=reason,
        curve={"uplift": _curve(q_up[0]), "risk": _curve(q_risk[0])},
    )


def learn(
    frame: pd.DataFrame,
    test_share: float = TEST_SHARE,
    seed: int = 0,
    samples: int = BOOTSTRAP_SAMPLES,
) -> tuple[TwoModelUplift, UpliftEvidence]:
    """Fit on a random (1 - test_share) of each arm, judge on the rest. `frame`: the features,
    `arm`, `churned` (outcomes only) and `churn_probability` (the plan's risk score)."""
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(frame), dtype=bool)
    for name in (TREATED, CONTROL):
        rows = np.flatnonzero(frame["arm"].to_numpy() == name)
        chosen = rng.choice(rows, size=round(len(rows) * test_share), replace=False)
        is_test[chosen] = True
    train, test = frame[~is_test], frame[is_test]
    for name in (TREATED, CONTROL):
        held = test["churned"].to_numpy(dtype=float)[test["arm"].to_numpy() == name]
        if len(held) < MIN_PER_ARM or held.min() == held.max():
            raise CampaignError(
                f"the held-out part of the {name} arm has {len(held)} outcome(s) "
                f"({int(held.sum())} churned): at least {MIN_PER_ARM}, with both churners and "
                "stayers, are needed for evidence"
            )
    model = fit_two_model(train, train["arm"].to_numpy(), train["churned"].to_numpy(dtype=float))
    evidence = evaluate(model, test, samples=samples, seed=seed)
    return model, UpliftEvidence(**{**asdict(evidence), "n_train": len(train)})
