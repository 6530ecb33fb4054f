"""Test-split metrics of a fitted pipeline."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict:
    """ROC-AUC, PR-AUC, log loss, Brier; accuracy, F1, precision and recall at `threshold`.

    `accuracy_at_0_5` is the plain accuracy at the conventional 0.5 cut-off.
    """
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    pred = (proba >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y_true, pred, labels=[0, 1]).ravel()
    return {
        "roc_auc": float(roc_auc_score(y_true, proba)),
        "pr_auc": float(average_precision_score(y_true, proba)),
        "log_loss": float(log_loss(y_true, proba, labels=[0, 1])),
        "brier": float(brier_score_loss(y_true, proba)),
        "accuracy": float(accuracy_score(y_true, pred)),
        "f1": float(f1_score(y_true, pred, zero_division=0)),
        "precision": float(precision_score(y_true, pred, zero_division=0)),
        "recall": float(recall_score(y_true, pred, zero_division=0)),
        "accuracy_at_0_5": float(accuracy_score(y_true, (proba >= 0.5).astype(int))),
        "threshold": float(threshold),
        "true_negatives": float(tn),
        "false_positives": float(fp),
        "false_negatives": float(fn),
        "true_positives": float(tp),
    }


def bootstrap_intervals(
    y_true: np.ndarray, proba: np.ndarray, n_resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """95% percentile-bootstrap intervals of test ROC-AUC and accuracy at 0.5.

    One 1,200-row test split moves ROC-AUC by about ±0.02 (95%) on the telco data, more than the
    differences between good models; the interval says how far a single test figure can be trusted.
    ROC-AUC per resample is the Mann-Whitney statistic on ranks, vectorised over resamples.
    """
    from scipy.stats import rankdata

    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y_true), size=(n_resamples, len(y_true)))
    y_b, p_b = y_true[idx], proba[idx]
    n_pos = y_b.sum(axis=1)
    n_neg = y_b.shape[1] - n_pos
    usable = (n_pos > 0) & (n_neg > 0)
    ranks = rankdata(p_b[usable], axis=1)
    pos_rank_sum = (ranks * y_b[usable]).sum(axis=1)
    pos, neg = n_pos[usable], n_neg[usable]
    auc = (pos_rank_sum - pos * (pos + 1) / 2) / (pos * neg)
    acc = ((p_b >= 0.5).astype(int) == y_b).mean(axis=1)
    auc_low, auc_high = np.percentile(auc, [2.5, 97.5])
    acc_low, acc_high = np.percentile(acc, [2.5, 97.5])
    return {
        "roc_auc_ci_low": float(auc_low),
        "roc_auc_ci_high": float(auc_high),
        "accuracy_at_0_5_ci_low": float(acc_low),
        "accuracy_at_0_5_ci_high": float(acc_high),
    }
