"""One way for the benchmarks to measure a whole command: `/usr/bin/time -v` (GNU time).

Wall time, CPU time (user + system) and peak RSS of the process tree's largest process, plus the
machine's load average before and after (the figures of a shared machine need it beside them),
and a rows-against-time table with each size's growth against the size before.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Timed:
    wall_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int
    stdout: str
    stderr: str
    load_before: float
    load_after: float


def _field(text: str, name: str) -> str:
    match = re.search(rf"{re.escape(name)}: (.+)", text)
    if match is None:
        raise RuntimeError(f"no {name!r} in {TIME} -v output:\n{text[-2000:]}")
    return match.group(1).strip()


def run_timed(argv: list[str], *, cwd: Path | None = None, log: Path | None = None) -> Timed:
    """Run `argv` under `/usr/bin/time -v`; with `log`, its stderr goes there as it comes (a long
    run can be followed with `tail -f`)."""
    load = os.getloadavg()[0]
    if log is None:
        done = subprocess.run([TIME, "-v", *argv], capture_output=True, text=True, cwd=cwd)
        err = done.stderr
    else:
        with log.open("w") as sink:
            done = subprocess.run(
                [TIME, "-v", *argv], stdout=subprocess.PIPE, stderr=sink, text=True, cwd=cwd
            )
        err = log.read_text(errors="replace")
    clock = _field(err, "Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
    wall = sum(float(p) * 60**i for i, p in enumerate(reversed(clock)))
    cpu = float(_field(err, "User time (seconds)")) + float(_field(err, "System time (seconds)"))
    return Timed(
        wall_s=round(wall, 2),
        cpu_s=round(cpu, 2),
        peak_mb=round(int(_field(err, "Maximum resident set size (kbytes)")) / 1024, 1),
        exit_code=done.returncode,
        stdout=done.stdout,
        stderr=err,
        load_before=round(load, 2),
        load_after=round(os.getloadavg()[0], 2),
    )


@dataclass
class Row:
    """One command at one size: the median of its runs."""

    command: str
    rows: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int
    runs: int = 1


def rows_table(results: list[Row]) -> str:
    """The markdown table of docs/scale.md: per command, each size against the size before."""
    grown: dict[tuple[str, int], str] = {}
    for command in dict.fromkeys(r.command for r in results):
        mine = [r for r in results if r.command == command]
        for before, after in itertools.pairwise(mine):
            grown[(command, after.rows)] = (
                f"x{after.rows / before.rows:g} rows: time x{after.wall_s / before.wall_s:.1f}, "
                f"memory x{after.peak_mb / before.peak_mb:.2f}"
            )
    lines = [
        "| command | rows | wall s | CPU s | peak RSS MB | rows/s | growth |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        rate = f"{r.rows / r.wall_s:,.0f}" if r.wall_s else "-"
        lines.append(
            f"| `{r.command}` | {r.rows:,} | {r.wall_s:.1f} | {r.cpu_s:.1f} | {r.peak_mb:,.0f} "
            f"| {rate} | {grown.get((r.command, r.rows), '')} |"
        )
    return "\n".join(lines)
