"""Code tests: the `churn` console script, run as a user runs it."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from churn.cli import main

CHURN = Path(sys.executable).with_name("churn")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Call the CLI in process (fast); one test below runs the installed console script."""
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse errors
                code = int(exc.code or 0)
    finally:
        os.chdir(old)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def test_installed_console_script_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CHURN), "generate", "--rows", "50", "--seed", "3", "--out", "s.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 51


def test_generate_twice_same_file_and_validate_accepts(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv"):
        assert (
            run("generate", "--rows", "7043", "--seed", "1", "--out", name, cwd=tmp_path).returncode
            == 0
        )
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    ok = run("validate", "a.csv", cwd=tmp_path)
    assert ok.returncode == 0 and "OK, 7043 rows" in ok.stdout


def test_validate_accepts_real_data(real_data_path: Path, tmp_path: Path) -> None:
    assert run("validate", str(real_data_path), cwd=tmp_path).returncode == 0


def _drop_tenure(lines: list[str]) -> list[str]:
    return [",".join(c for i, c in enumerate(line.split(",")) if i != 5) for line in lines]


def _text_tenure(lines: list[str]) -> list[str]:
    return [lines[0], _set(lines[1], 5, "abc"), *lines[2:]]


def _unknown_contract(lines: list[str]) -> list[str]:
    return [line.replace("Two year", "Lifetime") for line in lines]


def _empty(lines: list[str]) -> list[str]:
    return []


@pytest.mark.parametrize(
    ("transform", "needle"),
    [
        (_drop_tenure, "tenure: missing column"),
        (_text_tenure, "tenure: not a number"),
        (_unknown_contract, "Contract: unknown categories 'Lifetime'"),
        (_empty, "the file is empty"),
    ],
)
def test_validate_rejects_broken_files(tmp_path: Path, transform: object, needle: str) -> None:
    assert (
        run("generate", "--rows", "300", "--seed", "2", "--out", "g.csv", cwd=tmp_path).returncode
        == 0
    )
    lines = (tmp_path / "g.csv").read_text().splitlines()
    out = transform(lines)  # type: ignore[operator]
    (tmp_path / "bad.csv").write_text("\n".join(out) + ("\n" if out else ""))
    result = run("validate", "bad.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert needle in result.stdout


def _set(line: str, index: int, value: str) -> str:
    cells = line.split(",")
    cells[index] = value
    return ",".join(cells)


def test_generate_rejects_bad_arguments(tmp_path: Path) -> None:
    bad = run("generate", "--drift", "nope", "--rows", "5", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown --drift 'nope'" in bad.stderr


def test_cli_starts_without_heavy_frameworks() -> None:
    heavy = "('zenml', 'bentoml', 'mlflow', 'evidently', 'sklearn')"
    code = (
        "import sys, churn.cli; churn.cli.build_parser(); "
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
