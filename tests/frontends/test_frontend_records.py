"""Row-by-row checking of uploaded customer CSVs (Flask batch page and dashboard)."""

from __future__ import annotations

import pytest

from churn.generator import generate, to_csv_text
from frontends.common.records import UploadError, parse_csv, records_from_frame


def _csv_with_bad_rows() -> bytes:
    lines = to_csv_text(generate(6, seed=2)).splitlines()
    header = lines[0].split(",")
    tenure, gender = header.index("tenure"), header.index("gender")
    row2 = lines[2].split(",")
    row2[tenure] = "-4"
    row4 = lines[4].split(",")
    row4[gender] = "Robot"
    lines[2], lines[4] = ",".join(row2), ",".join(row4)
    return ("\n".join(lines) + "\n").encode()


def test_bad_rows_are_listed_with_line_and_reason_and_the_others_kept() -> None:
    parsed = parse_csv(_csv_with_bad_rows(), max_rows=100)
    assert len(parsed.records) == 4
    assert [p.line for p in parsed.problems] == [3, 5]
    assert "tenure" in parsed.problems[0].reason
    assert "gender" in parsed.problems[1].reason
    assert parsed.lines == [2, 4, 6, 7]
    assert parsed.ignored_columns == []  # Churn is part of the Telco layout


def test_blank_total_charges_at_tenure_zero_means_zero() -> None:
    frame = generate(50, seed=4)
    frame.loc[0, "tenure"] = 0
    text = to_csv_text(frame).encode()
    parsed = parse_csv(text, max_rows=100)
    assert not parsed.problems
    assert parsed.records[0]["TotalCharges"] == 0.0


def test_cross_field_rule_is_a_row_problem() -> None:
    lines = to_csv_text(generate(3, seed=5)).splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("PhoneService")] = "No"
    row[header.index("MultipleLines")] = "Yes"
    lines[1] = ",".join(row)
    parsed = parse_csv("\n".join(lines).encode(), max_rows=10)
    assert len(parsed.problems) == 1
    assert "MultipleLines" in parsed.problems[0].reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"a,b\n1,2\n", "missing columns"),
    ],
)
def test_file_level_problems_raise_a_readable_error(data: bytes, message: str) -> None:
    with pytest.raises(UploadError, match=message):
        parse_csv(data, max_rows=10)


def test_row_limit() -> None:
    with pytest.raises(UploadError, match="limit is 5"):
        parse_csv(to_csv_text(generate(6, seed=1)).encode(), max_rows=5)


def test_records_from_generator_frame_are_plain_json_types() -> None:
    records = records_from_frame(generate(5, seed=9))
    assert len(records) == 5
    assert type(records[0]["tenure"]) is int
    assert type(records[0]["MonthlyCharges"]) is float
