"""Training from the store: the run-config switch is strict, and the step that builds the data set
(`steps/data/training_set.py`) calls `training_set_file`, which writes each label's attributes
as they were at its `observed_at`, never a later value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from churn.data import load_clean
from churn.feature_store.ingest import ingest_file
from churn.feature_store.offline import training_set_file
from churn.schema import ID_COLUMN
from churn.settings import Settings
from churn.training.config import validate_params
from tests.feature_store.conftest import write_extract


def test_the_switch_is_one_optional_parameter_and_its_step_imports() -> None:
    from steps.data.training_set import training_set_from_store

    assert training_set_from_store.name == "training_set_from_store"
    assert validate_params({}).feature_store_labels is None
    assert validate_params({"feature_store_labels": "l.csv"}).feature_store_labels == "l.csv"


def test_the_step_never_lets_a_later_value_reach_a_label(
    tmp_path: Path, customers: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ONLINE_STORE", "OFFLINE_STORE", "REGISTRY"):
        monkeypatch.delenv(f"CHURN_FEATURE_{name}", raising=False)
    settings = Settings(feature_dir=tmp_path / "features")
    first, second = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    changed = customers.copy()
    changed["Contract"] = "Two year"  # every customer signs a long contract on April 1st
    ingest_file(write_extract(tmp_path / "march.csv", customers), first, settings)
    ingest_file(write_extract(tmp_path / "april.csv", changed), second, settings)
    labels = customers[[ID_COLUMN]].assign(
        Churn=customers["Churn"].map({1: "Yes", 0: "No"}),
        observed_at=(second - dt.timedelta(seconds=1)).isoformat(),  # one second before April
    )
    labels.to_csv(tmp_path / "labels.csv", index=False)
    out, report = training_set_file(tmp_path / "labels.csv", settings)
    assert (report.rows, report.written) == (len(customers), len(customers))
    assert out.parent == tmp_path / "features" / "training_sets"
    frame = load_clean(out)  # what the pipeline's validate step reads
    assert len(frame) == len(customers)
    assert frame["Contract"].tolist() == customers["Contract"].tolist()  # never April's
    assert frame["Churn"].tolist() == customers["Churn"].tolist()
