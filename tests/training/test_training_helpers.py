"""Pure scikit-learn helpers: threshold choice, metrics, candidates and the serving fast path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from churn.schema import FEATURE_NAMES, TARGET
from churn.training.candidates import FAMILIES, build_pipeline
from churn.training.metrics import (
    bootstrap_intervals,
    classification_metrics,
    paired_auc_difference,
)
from churn.training.search import best_of, tune
from churn.training.threshold import choose_threshold, retention_value


def test_threshold_maximises_expected_retention_value() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    proba = np.clip(y * 0.4 + rng.uniform(0, 0.6, 2000), 0, 1)
    choice = choose_threshold(y, proba, offer_cost=50, saved_customer_value=150)
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    values = [retention_value(y, proba, t, 50, 150) for t in grid]
    assert choice.expected_value == pytest.approx(max(values))
    assert choice.threshold == pytest.approx(grid[int(np.argmax(values))])
    # A dearer offer never lowers the bar for contacting someone.
    dear = choose_threshold(y, proba, offer_cost=120, saved_customer_value=150)
    assert dear.threshold >= choice.threshold


def test_metrics_at_threshold_and_at_half() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([0.1, 0.4, 0.35, 0.9])
    m = classification_metrics(y, proba, threshold=0.3)
    assert m["accuracy"] == pytest.approx(0.75)  # 0.4 is a false positive at 0.3
    assert m["accuracy_at_0_5"] == pytest.approx(0.75)  # 0.35 is a false negative at 0.5
    assert m["recall"] == pytest.approx(1.0)
    assert m["roc_auc"] == pytest.approx(0.75)
    assert {"pr_auc", "log_loss", "brier", "f1", "precision"} <= set(m)


def _scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores with a true ROC-AUC of about 0.84 (binormal, separation 1.4)."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.27).astype(int)
    score = rng.normal(size=n) + 1.4 * y
    return y, 1 / (1 + np.exp(-(score - 1.0)))


def test_bootstrap_auc_matches_sklearn_and_brackets_the_estimate() -> None:
    y, proba = _scores(1200, seed=1)
    point = classification_metrics(y, proba, 0.5)
    ci = bootstrap_intervals(y, proba, n_resamples=400, seed=0)
    assert ci["roc_auc_ci_low"] < point["roc_auc"] < ci["roc_auc_ci_high"]
    assert ci["accuracy_at_0_5_ci_low"] < point["accuracy_at_0_5"] < ci["accuracy_at_0_5_ci_high"]
    # Hanley & McNeil's standard error for this AUC and class balance gives a 95% width of ~0.055.
    assert 0.04 < ci["roc_auc_ci_high"] - ci["roc_auc_ci_low"] < 0.07
    assert bootstrap_intervals(y, proba, n_resamples=400, seed=0) == ci  # seeded
    # The centre sits on sklearn's figure (the rank statistic is the same AUC), ties included.
    centre = (ci["roc_auc_ci_low"] + ci["roc_auc_ci_high"]) / 2
    assert centre == pytest.approx(point["roc_auc"], abs=0.006)
    tied = np.round(proba, 1)
    tied_ci = bootstrap_intervals(y, tied, n_resamples=400, seed=0)
    tied_auc = classification_metrics(y, tied, 0.5)["roc_auc"]
    assert tied_ci["roc_auc_ci_low"] < tied_auc < tied_ci["roc_auc_ci_high"]
    # Perfectly separated scores: every resample has AUC 1.
    perfect = bootstrap_intervals(y, y * 0.5 + proba * 0.1, n_resamples=50)
    assert perfect["roc_auc_ci_low"] == pytest.approx(1.0)


def test_bootstrap_interval_narrows_with_more_test_rows() -> None:
    small = bootstrap_intervals(*_scores(300, seed=2), n_resamples=400)
    large = bootstrap_intervals(*_scores(4800, seed=2), n_resamples=400)
    small_width = small["roc_auc_ci_high"] - small["roc_auc_ci_low"]
    large_width = large["roc_auc_ci_high"] - large["roc_auc_ci_low"]
    assert large_width < small_width / 2.5  # 16x the rows: about a quarter of the width


def test_paired_bootstrap_sees_a_small_real_gain_that_single_intervals_cannot() -> None:
    y, old = _scores(1200, seed=3)
    rng = np.random.default_rng(4)
    # The new model adds a little signal to the old one's score: a real but small gain.
    new = old + 0.08 * y + rng.normal(scale=0.01, size=len(y))
    gain = roc_auc_score(y, new) - roc_auc_score(y, old)
    paired = paired_auc_difference(y, new, old, n_resamples=400)
    assert paired["difference_ci_low"] < gain < paired["difference_ci_high"]
    assert paired["difference_ci_low"] > 0 and paired["share_new_better"] > 0.99
    alone = bootstrap_intervals(y, old, n_resamples=400)
    assert (
        paired["difference_ci_high"] - paired["difference_ci_low"]
        < (alone["roc_auc_ci_high"] - alone["roc_auc_ci_low"]) / 3
    )
    # A model against itself: no difference in any resample.
    same = paired_auc_difference(y, old, old, n_resamples=100)
    assert same == {"difference_ci_low": 0.0, "difference_ci_high": 0.0, "share_new_better": 0.0}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_candidate_keeps_the_exact_fast_path(
    name: str, synthetic_frame: pd.DataFrame
) -> None:
    frame = synthetic_frame.head(1500)
    pipeline = build_pipeline(name, seed=0)
    if name == "random_forest":
        pipeline.set_params(model__n_estimators=20)
    pipeline.fit(frame[list(FEATURE_NAMES)], frame[TARGET])
    assert list(pipeline.named_steps) == ["encode", "model"]
    sample = frame[list(FEATURE_NAMES)].head(50)
    records = sample.to_dict(orient="records")
    fast = pipeline.named_steps["model"].predict_proba(
        pipeline.named_steps["encode"].encode_records(records)
    )
    np.testing.assert_array_equal(fast, pipeline.predict_proba(sample))


def test_best_candidate_is_chosen_by_cv_not_test(synthetic_frame: pd.DataFrame) -> None:
    train = synthetic_frame.head(1200)
    lr = tune("logistic_regression", {"C": [0.01, 1.0]}, train, cv_folds=3, seed=0)
    hgb = tune("hist_gradient_boosting", {"max_iter": [20]}, train, cv_folds=3, seed=0)
    assert lr.n_configs == 2 and len(lr.cv_fold_scores) == 3
    assert lr.best_params["C"] in (0.01, 1.0)
    assert best_of([lr, hgb]).cv_roc_auc == max(lr.cv_roc_auc, hgb.cv_roc_auc)
