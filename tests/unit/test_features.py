"""Code tests: the encoder's two entry points agree bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.features import COLUMN_NAMES, COLUMN_SOURCES, ChurnEncoder
from churn.schema import FEATURE_NAMES


def test_encode_records_equals_transform(synthetic_frame: pd.DataFrame) -> None:
    X = synthetic_frame[list(FEATURE_NAMES)]
    enc = ChurnEncoder().fit(X)
    sample = X.sample(300, random_state=0)
    fast = enc.encode_records(sample.to_dict("records"))
    assert np.array_equal(fast, enc.transform(sample))
    assert fast.shape == (300, len(COLUMN_NAMES))


def test_each_column_has_a_source_feature() -> None:
    assert len(COLUMN_NAMES) == len(COLUMN_SOURCES)
    assert set(COLUMN_SOURCES) == set(FEATURE_NAMES)


def test_numbers_are_standardised_and_one_hot_rows_sum_to_categories(
    synthetic_frame: pd.DataFrame,
) -> None:
    X = synthetic_frame[list(FEATURE_NAMES)]
    out = ChurnEncoder().fit(X).transform(X)
    assert np.allclose(out[:, :3].mean(axis=0), 0, atol=1e-9)
    assert np.allclose(out[:, :3].std(axis=0), 1, atol=1e-9)
    assert np.all(out[:, 4:].sum(axis=1) == 15)  # one hot per categorical feature
