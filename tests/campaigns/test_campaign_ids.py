"""`churn campaign plan --ids FILE`: a campaign planned from customer IDs, their attributes read
from the feature store's offline store as of a time, ranks the customers as the plan of their full
records does; an ID the store does not know then refuses the plan, nothing recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn.cli import main
from churn.schema import ID_COLUMN
from churn.settings import get_settings
from tests.fixtures.db_faults import count_rows
from tests.fixtures.training import TrainedModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]
AS_OF = "2026-01-01T00:00:00Z"
IDS = 1500


@pytest.fixture()
def feature_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The embedded feature store (Parquet, SQLite, file registry) in a temporary folder."""
    for name in ("ONLINE_STORE", "OFFLINE_STORE", "REGISTRY"):
        monkeypatch.delenv(f"CHURN_FEATURE_{name}", raising=False)
    monkeypatch.setenv("CHURN_FEATURE_DIR", str(tmp_path / "features"))
    get_settings.cache_clear()
    yield tmp_path / "features"
    get_settings.cache_clear()


def _plan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["campaign", "plan", *argv])
    return code, capsys.readouterr().err


def test_a_plan_by_ids_ranks_as_the_plan_of_the_records(
    trained_model: TrainedModel,
    feature_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = pd.read_csv(trained_model.data_path, dtype={ID_COLUMN: str})
    assert main(["features", "ingest", str(trained_model.data_path), "--as-of", AS_OF]) == 0
    chosen = data.iloc[:IDS]
    chosen[[ID_COLUMN]].to_csv(tmp_path / "ids.csv", index=False)
    chosen.to_csv(tmp_path / "records.csv", index=False)
    # two databases: a running campaign holds its customers, a second plan would leave them out
    other = ("--db", f"sqlite:///{tmp_path / 'records.db'}")
    db = ("--db", f"sqlite:///{tmp_path / 'project.db'}")
    common = ("--budget", "400", "--control-share", "0.2", "--actor", "ana", *db)

    code, err = _plan(capsys, "by-records", "--customers", str(tmp_path / "records.csv"),
                      "--out", str(tmp_path / "records-plan.csv"), *common, *other)  # fmt: skip
    assert code == 0, err
    code, err = _plan(capsys, "by-ids", "--ids", str(tmp_path / "ids.csv"), "--as-of", "now",
                      "--out", str(tmp_path / "ids-plan.csv"), "--chunk-rows", "400",
                      *common)  # fmt: skip
    assert code == 0, err
    assert "planned campaign by-ids" in err
    by_ids = pd.read_csv(tmp_path / "ids-plan.csv", dtype={ID_COLUMN: str})
    by_records = pd.read_csv(tmp_path / "records-plan.csv", dtype={ID_COLUMN: str})
    assert len(by_ids) == 400
    assert by_ids[ID_COLUMN].tolist() == by_records[ID_COLUMN].tolist()
    np.testing.assert_allclose(
        by_ids["churn_probability"], by_records["churn_probability"], rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(
        by_ids["expected_value"], by_records["expected_value"], rtol=0, atol=1e-9
    )
    assert by_ids["rank"].tolist() == list(range(1, 401))

    # before the extract, nobody is known; an unknown ID among known ones refuses the plan too
    code, err = _plan(capsys, "too-early", "--ids", str(tmp_path / "ids.csv"),
                      "--as-of", "2025-12-31T23:59:59Z", "--out", str(tmp_path / "x.csv"),
                      *common)  # fmt: skip
    assert code == 1
    assert f"{IDS} customer ID(s) unknown to the feature store as of 2025-12-31T23:59:59Z" in err
    assert "nothing planned" in err
    pd.DataFrame({ID_COLUMN: [*chosen[ID_COLUMN], "NOPE-1"]}).to_csv(
        tmp_path / "ids2.csv", index=False
    )
    code, err = _plan(capsys, "one-unknown", "--ids", str(tmp_path / "ids2.csv"),
                      "--out", str(tmp_path / "y.csv"), *common)  # fmt: skip
    assert code == 1 and "1 customer ID(s) unknown" in err and "NOPE-1" in err
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y.csv").exists()
    assert count_rows(db[1], "select count(*) from campaigns") == 1


def test_ids_and_customers_are_one_or_the_other(
    feature_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ("--out", str(tmp_path / "p.csv"), "--budget", "10")
    code, err = _plan(capsys, "a", *out)
    assert code == 2 and err.strip() == "error: give either --customers FILE or --ids FILE"
    code, err = _plan(capsys, "a", "--ids", "i.csv", "--customers", "c.csv", *out)
    assert code == 2 and "either --customers FILE or --ids FILE" in err
    code, err = _plan(capsys, "a", "--customers", "c.csv", "--as-of", "now", *out)
    assert code == 2 and "--as-of goes with --ids" in err
    (tmp_path / "i.csv").write_text("customerID\nA\n")
    code, err = _plan(capsys, "a", "--ids", str(tmp_path / "i.csv"), "--as-of", "soon", *out)
    assert code == 2 and "--as-of: 'soon' is not an ISO 8601 time" in err
