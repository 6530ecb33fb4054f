"""Split: stratified, seeded train/test split; the training part is the drift reference."""

from __future__ import annotations

import logging
from typing import Annotated

import pandas as pd
from sklearn.model_selection import train_test_split
from zenml import log_metadata, step

from churn.schema import TARGET

logger = logging.getLogger(__name__)


@step
def split(
    customers: pd.DataFrame, test_size: float, seed: int
) -> tuple[Annotated[pd.DataFrame, "reference_data"], Annotated[pd.DataFrame, "test_data"]]:
    """`reference_data` (the training split) is what monitoring compares live traffic with."""
    train, test = train_test_split(
        customers, test_size=test_size, stratify=customers[TARGET], random_state=seed
    )
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    log_metadata(
        metadata={
            "train_rows": len(train),
            "test_rows": len(test),
            "train_churn_rate": float(train[TARGET].mean()),
            "test_churn_rate": float(test[TARGET].mean()),
        }
    )
    logger.info("split: %d train / %d test rows (seed %d)", len(train), len(test), seed)
    return train, test
