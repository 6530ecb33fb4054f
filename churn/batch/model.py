"""The model offline scoring uses: a plain scikit-learn pipeline with its tag and threshold.

`churn.control.models.load_production` finds it in the BentoML model store, as the service picks
it (the serving state's production tag, else the store's newest `telco_churn`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn.schema import FEATURE_NAMES


@dataclass(frozen=True)
class ScoringModel:
    tag: str
    version: str
    threshold: float
    pipeline: Any

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probabilities of typed rows (`churn.batch.rows`): the pipeline's own numbers."""
        return np.asarray(self.pipeline.predict_proba(frame[list(FEATURE_NAMES)])[:, 1])

    def describe(self) -> str:
        return f"{self.tag} (version {self.version}, threshold {self.threshold:.2f})"
