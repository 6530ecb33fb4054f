"""Shared pieces of the feature-store tests: a small extract with two bad rows, the records it
holds as the row validator types them, and the session's Redis (tests/fixtures/redis.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from churn.schema import FEATURE_NAMES, ID_COLUMN, CustomerRecord
from tests.fixtures.redis import redis_server  # noqa: F401  (a session fixture)

CUSTOMERS = 40


def write_extract(path: Path, frame: pd.DataFrame, bad_rows: bool = False) -> Path:
    """`frame` as a CSV extract; `bad_rows` appends one with a word for tenure and one without
    a customerID (lines CUSTOMERS + 2 and + 3)."""
    out = frame.copy()
    out["Churn"] = out["Churn"].map({1: "Yes", 0: "No"}).fillna(out["Churn"])
    if bad_rows:
        broken = out.iloc[[0, 1]].copy()
        broken["tenure"] = broken["tenure"].astype(object)
        broken.iloc[0, broken.columns.get_loc("tenure")] = "ten"
        broken.iloc[0, broken.columns.get_loc(ID_COLUMN)] = "BAD-TENURE"
        broken.iloc[1, broken.columns.get_loc(ID_COLUMN)] = ""
        out = pd.concat([out.astype(object), broken], ignore_index=True)
    out.to_csv(path, index=False)
    return path


def records(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """customerID -> the record the service would take for that row (the full-record path)."""
    out = {}
    for row in frame.to_dict("records"):
        record = CustomerRecord.model_validate({k: row[k] for k in (ID_COLUMN, *FEATURE_NAMES)})
        out[record.customerID] = {ID_COLUMN: record.customerID, **record.features()}
    return out


@pytest.fixture(scope="session")
def customers() -> pd.DataFrame:
    from churn.generator import generate

    return generate(CUSTOMERS, seed=7)
