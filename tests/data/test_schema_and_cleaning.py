"""Data tests: the schema contract and the cleaning of real and broken files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from churn.data import SchemaError, check_file, clean, load_clean, read_raw
from churn.schema import (
    EXAMPLE_RECORD,
    FEATURE_NAMES,
    RAW_COLUMNS,
    CustomerRecord,
    coerce_csv_cell,
    risk_band,
    validate_rows,
)


def test_schema_has_the_19_features_of_the_ibm_data() -> None:
    assert len(FEATURE_NAMES) == 19
    assert RAW_COLUMNS[0] == "customerID" and RAW_COLUMNS[-1] == "Churn"
    assert len(RAW_COLUMNS) == 21


def test_real_csv_columns_match_schema_order(real_data_path: Path) -> None:
    header = real_data_path.read_text().splitlines()[0].split(",")
    assert tuple(header) == RAW_COLUMNS


def test_real_csv_cleans(real_frame: pd.DataFrame) -> None:
    assert len(real_frame) == 6000
    assert set(real_frame["Churn"].unique()) == {0, 1}
    assert real_frame["TotalCharges"].dtype == "float64"
    # blank TotalCharges only for new customers, cleaned to 0
    new = real_frame[real_frame["tenure"] == 0]
    assert len(new) > 0 and (new["TotalCharges"] == 0).all()
    assert 0.2 < real_frame["Churn"].mean() < 0.33


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "x.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture()
def raw_sample(real_data_path: Path) -> pd.DataFrame:
    return read_raw(real_data_path).head(200).copy()


def test_whitespace_is_stripped(tmp_path: Path, raw_sample: pd.DataFrame) -> None:
    raw_sample.loc[0, "Contract"] = "  " + raw_sample.loc[0, "Contract"] + " "
    df = load_clean(_write(tmp_path, raw_sample))
    assert df.loc[0, "Contract"] in ("Month-to-month", "One year", "Two year")


@pytest.mark.parametrize(
    ("mutate", "column", "needle"),
    [
        (lambda d: d.drop(columns=["tenure"]), "tenure", "missing column"),
        (lambda d: d.assign(extra="1"), "extra", "unknown column"),
        (lambda d: d.assign(tenure=["abc"] + list(d["tenure"][1:])), "tenure", "not a number"),
        (lambda d: d.assign(Contract=["Monthly"] + list(d["Contract"][1:])), "Contract", "unknown"),
        (lambda d: d.assign(Churn=["Maybe"] + list(d["Churn"][1:])), "Churn", "Yes/No"),
        (lambda d: d.assign(MonthlyCharges=["-5"] + list(d["MonthlyCharges"][1:])), "MonthlyCharges", "out of range"),
        (lambda d: d.assign(tenure=["1.5"] + list(d["tenure"][1:])), "tenure", "whole number"),
        (lambda d: d.assign(customerID=[d["customerID"][1]] + list(d["customerID"][1:])), "customerID", "duplicated"),
    ],
)
def test_bad_files_are_rejected_naming_the_column(
    tmp_path: Path, raw_sample: pd.DataFrame, mutate: object, column: str, needle: str
) -> None:
    broken = mutate(raw_sample)  # type: ignore[operator]
    with pytest.raises(SchemaError) as info:
        load_clean(_write(tmp_path, broken))
    messages = [str(v) for v in info.value.violations]
    assert any(v.column == column and needle in v.problem for v in info.value.violations), messages
    assert column in str(info.value)


def test_blank_total_charges_with_tenure_is_a_violation(tmp_path: Path, raw_sample: pd.DataFrame) -> None:
    idx = raw_sample.index[raw_sample["tenure"] != "0"][0]
    raw_sample.loc[idx, "TotalCharges"] = " "
    result = check_file(_write(tmp_path, raw_sample))
    assert [v.column for v in result.violations] == ["TotalCharges"]
    assert "missing" in result.violations[0].problem


def test_inconsistent_services_are_violations(raw_sample: pd.DataFrame) -> None:
    row = raw_sample.index[raw_sample["InternetService"] == "No"][0]
    raw_sample.loc[row, "StreamingTV"] = "Yes"
    result = clean(raw_sample)
    assert any(v.column == "StreamingTV" for v in result.violations)


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in str(check_file(empty).violations[0])
    header = tmp_path / "header.csv"
    header.write_text(",".join(RAW_COLUMNS) + "\n")
    assert "no data rows" in str(check_file(header).violations[0])


def test_customer_record_accepts_example_and_names_bad_fields() -> None:
    record = CustomerRecord(**EXAMPLE_RECORD)
    assert set(record.features()) == set(FEATURE_NAMES)
    bad = {**EXAMPLE_RECORD, "tenure": -1, "Contract": "Weekly", "bogus": 1}
    with pytest.raises(ValidationError) as info:
        CustomerRecord(**bad)
    fields = {err["loc"][0] for err in info.value.errors()}
    assert {"tenure", "Contract", "bogus"} <= fields


def test_customer_record_rejects_inconsistent_services() -> None:
    with pytest.raises(ValidationError, match="InternetService"):
        CustomerRecord(**{**EXAMPLE_RECORD, "InternetService": "No"})


@pytest.mark.parametrize(("p", "band"), [(0.0, "low"), (0.299, "low"), (0.3, "medium"), (0.6, "high"), (1.0, "high")])
def test_risk_bands(p: float, band: str) -> None:
    assert risk_band(p) == band


@pytest.mark.parametrize(
    ("name", "value", "tenure", "expected"),
    [
        ("tenure", " 12 ", "12", 12),
        ("tenure", "1.5", "1", 1.5),  # left for CustomerRecord to reject as not whole
        ("MonthlyCharges", "29.85", "1", 29.85),
        ("TotalCharges", " ", "0", 0.0),
        ("TotalCharges", "", "5", None),
        ("tenure", "abc", "", "abc"),
        ("Contract", " One year ", "", "One year"),
        ("customerID", "", "", None),
    ],
)
def test_csv_cells_become_record_values(name: str, value: str, tenure: str, expected: object) -> None:
    assert coerce_csv_cell(name, value, tenure) == expected


def test_one_row_validator_numbers_file_lines_and_names_fields() -> None:
    rows = [{k: str(v) for k, v in EXAMPLE_RECORD.items()} for _ in range(4)]
    rows[1]["tenure"] = "-3"
    rows[2]["PhoneService"] = "Yes"  # MultipleLines says "No phone service"
    rows[3]["SeniorCitizen"] = "1.5"
    valid, problems = validate_rows(rows)
    assert [row.line for row in valid] == [2]  # the header is line 1
    assert [p.line for p in problems] == [3, 4, 5]
    kinds = [(e.field, e.problem) for p in problems for e in p.errors]
    assert kinds == [
        ("tenure", "out of range [0, 120]"),
        ("MultipleLines", "inconsistent"),
        ("SeniorCitizen", "not a whole number"),
    ]
    assert problems[0].reason.startswith("tenure: ")
