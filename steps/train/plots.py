"""Evaluation plots: matplotlib `Figure`s drawn without pyplot (no GUI backend, no figure
registry to close), imported when a plot is drawn: importing matplotlib's text machinery builds
its font cache in HOME, which importing a step must not do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix, roc_curve

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure() -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 4))
    return fig, fig.subplots()


def confusion_figure(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> Figure:
    cm = confusion_matrix(y_true, (proba >= threshold).astype(int), labels=[0, 1])
    fig, ax = _figure()
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center")
    ax.set_xticks([0, 1], ["stay", "churn"])
    ax.set_yticks([0, 1], ["stay", "churn"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(f"Confusion matrix at {threshold:.2f}")
    fig.tight_layout()
    return fig


def roc_figure(y_true: np.ndarray, proba: np.ndarray, auc: float) -> Figure:
    fpr, tpr, _ = roc_curve(y_true, proba)
    fig, ax = _figure()
    ax.plot(fpr, tpr, label=f"ROC-AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def calibration_figure(y_true: np.ndarray, proba: np.ndarray, title: str = "") -> Figure:
    frac_pos, mean_pred = calibration_curve(y_true, proba, n_bins=10, strategy="quantile")
    fig, ax = _figure()
    if title:
        ax.set_title(title, fontsize=9)
    ax.plot(mean_pred, frac_pos, "o-", label="model")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed churn rate")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
