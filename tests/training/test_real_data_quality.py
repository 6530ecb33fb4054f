"""Model quality on the real IBM data, robust to the luck of one split.

A single 1,200-row test split moves ROC-AUC by about ±0.01 (0.834 to 0.872 over ten split seeds
here), so the target (test ROC-AUC >= 0.85, accuracy >= 0.80) is checked as the mean over five
stratified splits of the candidate the pipeline chooses on this data (logistic regression with
interactions). The pipeline's own single-split figures are in docs/training.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from churn.schema import TARGET
from churn.training.metrics import classification_metrics
from churn.training.search import features_and_target, tune

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_mean_test_metrics_over_splits_reach_target(real_frame: pd.DataFrame) -> None:
    roc, acc = [], []
    for seed in range(5):
        train, test = train_test_split(
            real_frame, test_size=0.2, stratify=real_frame[TARGET], random_state=seed
        )
        result = tune("logistic_regression", {"C": [0.1, 0.3]}, train, cv_folds=3, seed=seed)
        X, y = features_and_target(test)
        m = classification_metrics(y, result.pipeline.predict_proba(X)[:, 1], 0.5)
        roc.append(m["roc_auc"])
        acc.append(m["accuracy_at_0_5"])
    assert np.mean(roc) >= 0.85, roc
    assert np.mean(acc) >= 0.80, acc
