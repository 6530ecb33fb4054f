"""`churn features ...` on the embedded stores (Parquet, SQLite, file registry) in a temporary
CHURN_FEATURE_DIR: bad rows are reported and not ingested, `get` answers the ingested record,
and a training set takes each label's attributes as they were at its `observed_at`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from churn.cli import main
from churn.schema import ID_COLUMN
from tests.feature_store.conftest import CUSTOMERS, records, write_extract

T1 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


@pytest.fixture()
def feature_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ONLINE_STORE", "OFFLINE_STORE", "REGISTRY"):
        monkeypatch.delenv(f"CHURN_FEATURE_{name}", raising=False)
    monkeypatch.setenv("CHURN_FEATURE_DIR", str(tmp_path / "features"))
    monkeypatch.setenv("CHURN_FEATURE_MAX_AGE_HOURS", str(24 * 365 * 5))
    return tmp_path / "features"


def _stamp(t: dt.datetime) -> str:
    return t.isoformat()


def test_ingest_reports_bad_rows_and_get_answers_the_ingested_record(
    feature_dir: Path, tmp_path: Path, customers: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = write_extract(tmp_path / "extract.csv", customers, bad_rows=True)
    assert main(["features", "ingest", str(extract), "--as-of", _stamp(T1)]) == 1
    err = capsys.readouterr().err
    assert f"ingested {CUSTOMERS} of {CUSTOMERS + 2} customers" in err
    assert f"line {CUSTOMERS + 2} (BAD-TENURE): tenure" in err
    assert f"line {CUSTOMERS + 3}: customerID: missing" in err
    assert main(["features", "materialize"]) == 0
    assert "materialized the online store" in capsys.readouterr().err

    first = customers[ID_COLUMN].iloc[3]
    assert main(["features", "get", first]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["customer"] == records(customers)[first]
    assert answer["features_as_of"] == "2026-01-01T00:00:00Z"

    assert main(["features", "get", "BAD-TENURE"]) == 1  # refused, so never ingested
    assert capsys.readouterr().err.strip() == "error: unknown customerID: BAD-TENURE"
    assert main(["features", "get", first, "--as-of", "2025-12-31T23:59:59Z"]) == 1
    assert "unknown customerID as of 2025-12-31T23:59:59Z" in capsys.readouterr().err
    assert main(["features", "get", first, "--as-of", _stamp(T2)]) == 0
    assert json.loads(capsys.readouterr().out)["customer"] == records(customers)[first]


def test_a_training_set_never_sees_a_value_stamped_after_its_label(
    feature_dir: Path, tmp_path: Path, customers: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two extracts of the same customers (the second with other bills), labels observed between
    them, after both, and before either: each row gets the extract of its time, or none."""
    later = customers.copy()
    later["MonthlyCharges"] = later["MonthlyCharges"] + 1.25
    later["TotalCharges"] = later["TotalCharges"] + 1.25
    assert main(["features", "ingest", str(write_extract(tmp_path / "a.csv", customers)),
                 "--as-of", _stamp(T1)]) == 0  # fmt: skip
    assert main(["features", "ingest", str(write_extract(tmp_path / "b.csv", later)),
                 "--as-of", _stamp(T2)]) == 0  # fmt: skip
    ids = customers[ID_COLUMN].tolist()[:6]
    labels = pd.DataFrame(
        {
            ID_COLUMN: ids,
            "Churn": ["Yes", "No"] * 3,
            "observed_at": [
                "2026-01-15T00:00:00Z", "2026-01-31T23:59:59Z",  # before the second extract
                "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z",  # at or after it
                "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z",  # before any / exactly the first
            ],
        }
    )  # fmt: skip
    labels.to_csv(tmp_path / "labels.csv", index=False)
    out = tmp_path / "training.csv"
    assert main(["features", "training-set", str(tmp_path / "labels.csv"), "--out", str(out)]) == 0
    assert f"1 label(s) have no attributes at or before their observed_at and were left out: " \
        f"{ids[4]}" in capsys.readouterr().err  # fmt: skip
    got = pd.read_csv(out)
    assert got[ID_COLUMN].tolist() == [ids[0], ids[1], ids[2], ids[3], ids[5]]
    assert got["Churn"].tolist() == ["Yes", "No", "Yes", "No", "No"]
    before = customers.set_index(ID_COLUMN)["MonthlyCharges"]
    after = later.set_index(ID_COLUMN)["MonthlyCharges"]
    expected = [before[ids[0]], before[ids[1]], after[ids[2]], after[ids[3]], before[ids[5]]]
    assert got["MonthlyCharges"].tolist() == expected


def test_bad_command_lines_fail_with_one_line(
    feature_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["features", "ingest", str(tmp_path / "none.csv"), "--as-of", "now"]) == 2
    assert main(["features", "materialize"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"error: no such file: {tmp_path / 'none.csv'}"
    assert err[1].startswith("error: no extract in the offline store")
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("gender\nMale\n")
    assert main(["features", "ingest", str(no_id), "--as-of", "now"]) == 1
    assert "missing columns" in capsys.readouterr().err


def test_predict_takes_records_or_ids_not_both(
    feature_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "out.csv")
    assert main(["predict", "--out", out]) == 2
    assert main(["predict", "x.csv", "--ids", "ids.csv", "--out", out]) == 2
    assert main(["predict", "--ids", str(tmp_path / "none.csv"), "--out", out]) == 2
    (tmp_path / "ids.csv").write_text("customerID\nA\n")
    assert (
        main(["predict", "--ids", str(tmp_path / "ids.csv"), "--as-of", "soon", "--out", out]) == 2
    )
    err = capsys.readouterr().err.splitlines()
    assert err[0] == err[1] == "error: give either PATH (records) or --ids FILE (customer IDs)"
    assert err[2] == f"error: no such file: {tmp_path / 'none.csv'}"
    assert err[3].startswith("error: --as-of: 'soon' is not an ISO 8601 time")
