"""`churn predict` and `churn validate` as a user types them, on files read in chunks."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import requests

from churn.cli import main
from churn.schema import FEATURE_NAMES, ID_COLUMN, validate_rows
from tests.fixtures.launcher import RunningService
from tests.scale.conftest import BAD_EVERY, SCALE_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
CHURN = str(Path(sys.executable).with_name("churn"))


def _predict(src: Path, out: Path, tag: str, *extra: str) -> int:
    return main(["predict", str(src), "--out", str(out), "--model", tag, *extra])


def test_output_is_the_same_for_any_chunk_size(
    customers_csv: Path, scale_model: str, tmp_path: Path
) -> None:
    outputs = []
    for rows in (97, 1000, 100_000):
        out = tmp_path / f"scored-{rows}.csv"
        assert _predict(customers_csv, out, scale_model, "--chunk-rows", str(rows)) == 1
        outputs.append((out.read_bytes(), out.with_suffix(".errors.csv").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0][0].splitlines()) == 1 + 3000 - 3000 // BAD_EVERY


def test_streaming_equals_the_in_memory_path(
    customers_csv: Path, scale_model: str, tmp_path: Path
) -> None:
    """Against the path `churn predict` had before: every row through `validate_rows`, then
    `predict_proba` on the whole frame."""
    import bentoml

    out = tmp_path / "scored.parquet"  # exact floats (reading a CSV back rounds on its own)
    assert _predict(customers_csv, out, scale_model, "--chunk-rows", "333") == 1
    raw = pd.read_csv(customers_csv, dtype=str, keep_default_na=False)
    valid, problems = validate_rows(raw)
    frame = pd.DataFrame([r.record.model_dump() for r in valid])
    pipeline = bentoml.sklearn.load_model(scale_model)
    expected = pipeline.predict_proba(frame[list(FEATURE_NAMES)])[:, 1]
    scored = pq.read_table(out).to_pandas()
    assert list(scored[ID_COLUMN]) == list(frame[ID_COLUMN])
    assert np.array_equal(scored["churn_probability"].to_numpy(), expected)
    errors = pd.read_csv(tmp_path / "scored.errors.csv")
    assert list(errors["line"]) == [p.line for p in problems]
    assert list(errors["problems"]) == [p.reason for p in problems]


def _post(service: RunningService, path: str, body: Any) -> Any:
    resp = requests.post(f"{service.url}{path}", json=body, timeout=60, headers=service.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_scores_equal_the_service(
    customers_csv: Path, scale_model: str, scale_service: RunningService, tmp_path: Path
) -> None:
    out = tmp_path / "scored.parquet"
    assert _predict(customers_csv, out, scale_model) == 1
    scored = pq.read_table(out).to_pandas()
    records = json.loads(scored[[ID_COLUMN, *FEATURE_NAMES]].to_json(orient="records"))
    served: list[float] = []
    for start in range(0, len(records), 1000):
        body = _post(scale_service, "/predict_batch", {"customers": records[start : start + 1000]})
        assert body["model_version"] == SCALE_VERSION  # the service answers with our model
        served += [p["churn_probability"] for p in body["predictions"]]
    assert len(served) == len(scored) == 2970
    assert np.max(np.abs(np.array(served) - scored["churn_probability"].to_numpy())) <= 1e-9
    for i in (0, 1234, len(records) - 1):
        single = _post(scale_service, "/predict", {"customer": records[i]})
        assert abs(single["churn_probability"] - scored["churn_probability"][i]) <= 1e-9
        assert single["churn"] == bool(scored["churn_prediction"][i])


def test_bad_rows_go_to_the_errors_file_and_the_first_20_to_the_terminal(
    customers_csv: Path, scale_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scored.csv"
    errors_path = tmp_path / "rejected.csv"
    capsys.readouterr()
    assert _predict(customers_csv, out, scale_model, "--errors", str(errors_path)) == 1
    err = capsys.readouterr().err
    assert "scored 2970 of 3000 rows" in err
    assert f"30 row(s) failed validation and were not scored (all in {errors_path}" in err
    listed = re.findall(r"^  - line (\d+): (.+)$", err, flags=re.M)
    assert len(listed) == 20
    errors = pd.read_csv(errors_path)
    assert len(errors) == 30
    assert [int(line) for line, _ in listed] == list(errors["line"][:20])
    assert list(errors["line"]) == list(range(BAD_EVERY // 2 + 2, 3002, BAD_EVERY))
    assert (
        errors["problems"].str.contains("tenure: Input should be greater than or equal to 0").any()
    )
    assert errors["problems"].str.contains("Contract: Input should be").any()


def test_parquet_in_gives_the_csv_results(
    customers_csv: Path, scale_model: str, tmp_path: Path
) -> None:
    src = tmp_path / "customers.parquet"
    pq.write_table(pcsv.read_csv(customers_csv), src)  # typed columns, as a warehouse exports
    from_csv, from_parquet = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert _predict(customers_csv, from_csv, scale_model) == 1
    assert _predict(src, from_parquet, scale_model, "--chunk-rows", "500") == 1
    a, b = pq.read_table(from_csv).to_pandas(), pq.read_table(from_parquet).to_pandas()
    assert list(a[ID_COLUMN]) == list(b[ID_COLUMN])
    assert np.array_equal(a["churn_probability"], b["churn_probability"])


def test_validate_streams_and_names_each_problem(
    customers_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from churn.data import check_file

    capsys.readouterr()
    assert main(["validate", str(customers_csv), "--chunk-rows", "250", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    in_memory = check_file(customers_csv).violations
    assert report["violations"] == [v.__dict__ for v in in_memory]  # the same, chunk by chunk
    dup = tmp_path / "dup.csv"
    lines = customers_csv.read_text().splitlines()
    dup.write_text("\n".join([lines[0], *lines[1:40], lines[5]]) + "\n")
    assert main(["validate", str(dup)]) == 1
    assert "customerID: duplicated ids (2 rows)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["{src}", "--out", "{tmp}/o.txt"], 2, "unknown file type '.txt'"),
        (["{tmp}/none.csv", "--out", "{tmp}/o.csv"], 2, "no such file"),
        (
            ["{src}", "--out", "{tmp}/o.csv", "--chunk-rows", "0"],
            2,
            "--chunk-rows must be at least 1",
        ),
        (["{src}", "--out", "{tmp}/o.csv", "--model", "telco_churn:nosuch"], 1, "no such model"),
        (["{empty}", "--out", "{tmp}/o.csv"], 1, "the file is empty"),
        (["{narrow}", "--out", "{tmp}/o.csv"], 1, "missing columns ['tenure']"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(
    args: list[str], code: int, message: str, customers_csv: Path, scale_model: str,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    (tmp_path / "empty.csv").write_text("")
    narrow = pd.read_csv(customers_csv, dtype=str, nrows=5).drop(columns=["tenure"])
    narrow.to_csv(tmp_path / "narrow.csv", index=False)
    names = {"src": customers_csv, "tmp": tmp_path, "empty": tmp_path / "empty.csv",
             "narrow": tmp_path / "narrow.csv"}  # fmt: skip
    argv = ["predict", *(a.format(**names) for a in args)]
    if "--model" not in argv:
        argv += ["--model", scale_model]
    capsys.readouterr()
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not list(tmp_path.glob("o.*")) and not list(tmp_path.glob(".o.*"))


def _big_file(tmp_path: Path, source: Path, copies: int) -> Path:
    """`copies` times the customers (ids repeat: scoring does not mind)."""
    lines = source.read_text().splitlines(keepends=True)
    path = tmp_path / f"big-{copies}.csv"
    with path.open("w") as handle:
        handle.write(lines[0])
        for _ in range(copies):
            handle.writelines(lines[1:])
    return path


def test_sigterm_leaves_no_file_under_the_final_name(
    customers_csv: Path, scale_model: str, tmp_path: Path
) -> None:
    src = _big_file(tmp_path, customers_csv, 60)  # 180,000 rows
    out = tmp_path / "scored.csv"
    cmd = [CHURN, "predict", str(src), "--out", str(out), "--model", scale_model,
           "--chunk-rows", "500"]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.monotonic() + 240
    while not list(tmp_path.glob(".scored.csv.partial-*")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    assert list(tmp_path.glob(".scored.csv.partial-*")), "never started writing"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists() and not out.with_suffix(".errors.csv").exists()
    assert not list(tmp_path.glob(".scored*"))  # the temporary files are gone too


def _peak_rss_kb(cmd: list[str]) -> int:
    done = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=600)  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]  # the bad rows
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])  # type: ignore[index]


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_rows(
    customers_csv: Path, scale_model: str, tmp_path: Path
) -> None:
    """Generous on purpose (a measurement, not a benchmark): 500k rows within 1.5x of 100k's."""
    peaks = {}
    for copies in (34, 167):  # ~100k and ~500k rows
        src = _big_file(tmp_path, customers_csv, copies)
        out = tmp_path / f"scored-{copies}.csv"
        peaks[copies] = _peak_rss_kb([CHURN, "predict", str(src), "--out", str(out),
                                      "--model", scale_model, "--chunk-rows", "20000"])  # fmt: skip
    assert peaks[167] <= 1.5 * peaks[34], peaks
