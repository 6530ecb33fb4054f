"""The benchmarks' one measuring tool (benchmarks/timed.py): GNU time's figures, read right."""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.timed import Row, rows_table, run_timed


def test_run_timed_reads_peak_memory_cpu_and_exit_code(tmp_path: Path) -> None:
    hold = "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('done')"
    log = tmp_path / "time.log"
    run = run_timed([sys.executable, "-c", hold + "; raise SystemExit(3)"], log=log)
    assert run.exit_code == 3
    assert run.stdout.strip() == "done"
    assert 200 <= run.peak_mb < 400  # the 200 MB it touched, and the interpreter
    assert run.cpu_s > 0
    assert run.wall_s > 0
    assert "Maximum resident set size" in log.read_text()


def test_rows_table_gives_each_size_its_growth() -> None:
    table = rows_table(
        [
            Row("churn predict", 1_000, 2.0, 2.5, 100.0, 0),
            Row("churn predict", 10_000, 4.0, 5.0, 150.0, 0),
            Row("churn validate", 1_000, 1.0, 1.0, 80.0, 0),
        ]
    )
    lines = table.splitlines()
    assert lines[2].startswith("| `churn predict` | 1,000 | 2.0 | 2.5 | 100 | 500 |")
    assert lines[3].endswith("| 2,500 | x10 rows: time x2.0, memory x1.50 |")
    assert lines[4].endswith("| 1,000 |  |")  # a new command starts without growth
