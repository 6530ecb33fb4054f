"""Reading the live window from a prediction_log table laid out as in docs/CONTRACT.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from churn.generator import generate
from churn.monitoring.window import PredictionLogError, read_window
from churn.schema import FEATURE_NAMES
from tests.monitoring.helpers import write_log


def test_missing_table_is_an_empty_window(tmp_path: Path) -> None:
    assert read_window(f"sqlite:///{tmp_path / 'none.db'}", 100).empty


def test_last_rows_oldest_first_with_reference_dtypes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    old = generate(30, seed=1)
    new = generate(20, seed=2)
    write_log(url, old, np.linspace(0, 1, 30), "1")
    write_log(url, new, np.linspace(0, 1, 20), "2")
    window = read_window(url, 25)
    assert len(window) == 25
    assert window["id"].is_monotonic_increasing
    assert list(window["customerID"].iloc[-20:]) == list(new["customerID"])
    assert (window["model_version"].iloc[-20:] == "2").all()
    reference = generate(5, seed=3)
    for name in FEATURE_NAMES:
        assert window[name].dtype == reference[name].dtype, name
    assert window["churn_probability"].iloc[-1] == pytest.approx(1.0)


def test_time_window(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    now = datetime.now(UTC).replace(tzinfo=None)
    write_log(url, generate(10, seed=1), None, "1", created_at=now - timedelta(hours=5))
    write_log(url, generate(7, seed=2), None, "1", created_at=now - timedelta(minutes=5))
    assert len(read_window(url, 1000, hours=1)) == 7
    assert len(read_window(url, 1000)) == 17


def test_a_table_without_the_contract_columns_is_an_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE prediction_log (id INTEGER PRIMARY KEY, tenure INT)"))
    engine.dispose()
    with pytest.raises(PredictionLogError, match="lacks column"):
        read_window(url, 10)
