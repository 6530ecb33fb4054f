"""`churn predict --engine spark` in Spark's local mode: every score equals the local engine's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from churn.batch.spark import PROBLEMS
from churn.cli import main
from churn.schema import ID_COLUMN

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


def test_spark_scores_equal_the_local_engine(
    customers_csv: Path, scale_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local, spark = tmp_path / "local.parquet", tmp_path / "spark.parquet"
    assert main(["predict", str(customers_csv), "--out", str(local), "--model", scale_model]) == 1
    capsys.readouterr()
    argv = ["predict", str(customers_csv), "--out", str(spark), "--model", scale_model,
            "--engine", "spark", "--master", "local[2]", "--partitions", "2"]  # fmt: skip
    assert main(argv) == 1  # the 30 bad rows
    err = capsys.readouterr().err
    assert "scored 2970 rows" in err and "on Spark (local[2])" in err
    assert "30 row(s) failed validation" in err

    assert spark.is_dir() and not list(tmp_path.glob(".spark.parquet.partial-*"))
    got = pq.read_table(spark).to_pandas()  # Spark's part files, read as one table
    scored = got[got[PROBLEMS].isna()].set_index(ID_COLUMN)
    rejected = got[got[PROBLEMS].notna()]
    expected = pq.read_table(local).to_pandas().set_index(ID_COLUMN)
    assert len(scored) == len(expected) == 2970 and len(rejected) == 30
    scored = scored.loc[expected.index]  # Spark keeps no row order across partitions
    assert np.max(np.abs(scored["churn_probability"] - expected["churn_probability"])) <= 1e-9
    assert (scored["churn_prediction"] == expected["churn_prediction"]).all()
    errors = pd.read_csv(tmp_path / "local.errors.csv")
    assert sorted(rejected[PROBLEMS]) == sorted(errors["problems"])


def test_spark_engine_without_pyspark_says_how_to_install(
    customers_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what an install without the group sees
    argv = ["predict", str(customers_csv), "--out", str(tmp_path / "o.csv"), "--engine", "spark"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "uv sync --group spark" in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())
