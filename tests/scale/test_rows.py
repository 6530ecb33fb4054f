"""The vectorised screen never changes a verdict of the one row validator; chunked generation."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa

from churn.batch.generate import generate_chunks, id_numbers
from churn.batch.rows import check_chunk
from churn.generator import generate, to_csv_text
from churn.schema import FEATURES, FIRST_DATA_LINE, ID_COLUMN, validate_rows

EDGE_NUMBERS = ["1e", "e5", "1.2.3", "0x10", "1_000", "١٢", " 5", "5 ", "+5", "-0", "inf", "nan",
                "1e400", "1e-400", "5.", ".5", "1E1", "0005", "Infinity", "-1", "", "3.5", "121",
                "500", "500.01", "\xa012", "1,5"]  # fmt: skip
EDGE_WORDS = ["", " Male", "male", "Male\xa0", "Yes ", "No\t", "None", "DSL\n", "Fiber  optic"]
EDGE_IDS = ["", " ", "x" * 64, "x" * 65, "\xa0id\xa0", "é" * 64, "id,with,commas"]


def _raw(rows: int, seed: int) -> pd.DataFrame:
    text = to_csv_text(generate(rows, seed=seed))
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_screen_and_validator_agree_on_every_row_and_value() -> None:
    raw = _raw(2000, seed=5)
    rng = np.random.default_rng(0)
    for i in range(0, len(raw), 3):  # a third of the rows get one odd cell
        feat = FEATURES[int(rng.integers(len(FEATURES)))]
        pool = EDGE_WORDS if feat.kind == "categorical" else EDGE_NUMBERS
        raw.loc[i, feat.name] = pool[int(rng.integers(len(pool)))]
    for i in range(1, len(raw), 97):
        raw.loc[i, ID_COLUMN] = EDGE_IDS[i % len(EDGE_IDS)]
    raw.loc[7, "tenure"], raw.loc[7, "TotalCharges"] = "0", " "  # a first-month customer
    raw.loc[8, "tenure"], raw.loc[8, "TotalCharges"] = "0.0", ""  # not exactly '0': missing

    chunk = check_chunk(pa.Table.from_pandas(raw, preserve_index=False), FIRST_DATA_LINE)
    valid, problems = validate_rows(raw)

    assert [p.line for p in chunk.problems] == [p.line for p in problems]
    assert [p.reason for p in chunk.problems] == [p.reason for p in problems]
    assert len(problems) > 300 and len(valid) > 1000  # both kinds are well represented
    assert list(chunk.valid_rows + FIRST_DATA_LINE) == [r.line for r in valid]
    expected = pd.DataFrame([r.record.model_dump() for r in valid])
    for feat in FEATURES:
        got = chunk.features[feat.name].astype(object).tolist()
        assert got == expected[feat.name].tolist(), feat.name
    assert chunk.table.column(ID_COLUMN).to_pylist() == expected[ID_COLUMN].tolist()
    assert 7 + FIRST_DATA_LINE in chunk.valid_rows + FIRST_DATA_LINE


def test_chunked_generation_keeps_small_files_and_unique_ids() -> None:
    chunks = list(generate_chunks(1100, seed=4, drift="none", chunk_rows=400))
    assert [len(c) for c in chunks] == [400, 400, 300]
    first = generate(400, seed=4)
    assert to_csv_text(chunks[0]) == to_csv_text(first)  # the first chunk: the old bytes
    ids = pd.concat(chunks)[ID_COLUMN]
    assert ids.is_unique
    assert len(np.unique(id_numbers(ids.to_numpy()))) == 1100
    again = list(generate_chunks(1100, seed=4, drift="none", chunk_rows=400))
    assert all(a.equals(b) for a, b in zip(chunks, again, strict=True))


def test_an_id_an_earlier_chunk_has_is_drawn_again() -> None:
    from churn.batch.generate import _fresh_ids, _in_sorted

    taken = np.sort(id_numbers(np.array(["0002-BBBBB", "0009-ZZZZZ", "0000-AAAAA"])))
    assert _in_sorted(taken, id_numbers(np.array(["0009-ZZZZZ", "0009-ZZZZY"]))).tolist() == [
        True,
        False,
    ]
    assert not _in_sorted(np.empty(0, dtype=np.int64), taken).any()
    frame = pd.DataFrame({ID_COLUMN: ["0001-AAAAA", "0002-BBBBB", "0003-CCCCC"]})
    numbers = _fresh_ids(frame, taken, np.random.default_rng(1))
    assert frame[ID_COLUMN].tolist()[::2] == ["0001-AAAAA", "0003-CCCCC"]  # kept
    assert frame[ID_COLUMN][1] != "0002-BBBBB"  # the clash, drawn again
    assert not _in_sorted(taken, numbers).any()
    assert numbers.tolist() == id_numbers(frame[ID_COLUMN].to_numpy()).tolist()
