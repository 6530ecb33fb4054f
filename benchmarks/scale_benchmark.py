"""Rows against time and peak memory: `churn predict` and `churn validate` at 10k to 10M customers.

Each command runs under `/usr/bin/time -v` (wall time, CPU time, peak RSS), `--repeats` times
(median reported), beside the same file's pyarrow read as the floor. The table it prints is the
one in docs/scale.md. Files come from `churn generate --seed 7` (streamed, any size) and are kept
in `--workdir` for the next run.

More commands (training, the drift check) join with `--command NAME=TEMPLATE`, where `{csv}` is
the size's file and `{rows}` its row count, e.g.

    python benchmarks/scale_benchmark.py --sizes 10000,100000 \
        --command 'train=make train DATA={csv}'

Usage: python benchmarks/scale_benchmark.py [--sizes 10000,100000,1000000,10000000]
       [--repeats 1] [--workdir /tmp/churn-scale] [--bad-every 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timed import Row, Timed, rows_table, run_timed  # noqa: E402

CHURN = str(Path(sys.executable).with_name("churn"))
FLOOR = "pyarrow read"
BUILT_IN = {
    "churn predict": [CHURN, "predict", "{csv}", "--out", "{work}/scored-{rows}.csv"],
    "churn validate": [CHURN, "validate", "{csv}"],
    FLOOR: [sys.executable, "-c", "import pyarrow.csv as c, sys; c.read_csv(sys.argv[1])", "{csv}"],
}


def measure(argv: list[str]) -> Timed:
    return run_timed(argv, cwd=REPO)


def data_file(rows: int, work: Path) -> Path:
    """`churn generate --rows N --seed 7` (10M customers: about 2.5 minutes, 1 GB peak)."""
    path = work / f"customers-{rows}.csv"
    if not path.exists():
        argv = [CHURN, "generate", "--rows", str(rows), "--seed", "7", "--out", str(path)]
        subprocess.run(argv, check=True, cwd=REPO)
    return path


def with_bad_rows(src: Path, every: int) -> Path:
    """A copy with the tenure of one row in every `every` set to -3."""
    path = src.with_name(src.stem + f"-bad-every-{every}.csv")
    if path.exists():
        return path
    with src.open() as inp, path.open("w") as out:
        header = inp.readline()
        out.write(header)
        tenure = header.strip().split(",").index("tenure")
        for i, line in enumerate(inp):
            if i % every == every // 2:
                cells = line.split(",")
                cells[tenure] = "-3"
                line = ",".join(cells)
            out.write(line)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/churn-scale"))
    parser.add_argument("--bad-every", type=int, default=1000, help="0: no bad-rows run")
    parser.add_argument("--only", default="", help="comma-separated built-in commands to run")
    parser.add_argument("--command", action="append", default=[], help="NAME=TEMPLATE (more)")
    parser.add_argument("--json", type=Path, help="also write the runs as JSON")
    args = parser.parse_args(argv)
    commands = {k: v for k, v in BUILT_IN.items() if not args.only or k in args.only.split(",")}
    for spec in args.command:
        name, _, template = spec.partition("=")
        commands[name] = ["bash", "-c", template]
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs: list[Row] = []
    for rows in (int(s) for s in args.sizes.split(",")):
        csv = data_file(rows, args.workdir)
        for name, template in commands.items():
            argv_ = [a.format(csv=csv, rows=rows, work=args.workdir) for a in template]
            results = [measure(argv_) for _ in range(args.repeats)]
            runs.append(
                Row(
                    name,
                    rows,
                    statistics.median(r.wall_s for r in results),
                    statistics.median(r.cpu_s for r in results),
                    statistics.median(r.peak_mb for r in results),
                    results[-1].exit_code,
                    len(results),
                )
            )
            print(json.dumps(asdict(runs[-1])), flush=True)
    print(rows_table(runs))
    if args.bad_every:
        bad = with_bad_rows(csv, args.bad_every)
        argv_ = [CHURN, "predict", str(bad), "--out", str(args.workdir / "scored-bad.csv")]
        bad_run = measure(argv_)
        err = bad_run.stderr
        listed = len(re.findall(r"^  - line \d+: ", err, flags=re.M))
        summary = re.search(r"^(\d+) row\(s\) failed validation", err, flags=re.M)
        print(
            f"\nbad rows (one in {args.bad_every}): exit {bad_run.exit_code}, "
            f"{bad_run.wall_s:.1f} s wall, {bad_run.cpu_s:.1f} s CPU, peak "
            f"{bad_run.peak_mb:,.0f} MB; terminal lists {listed} and says "
            f"{summary.group(1) if summary else '?'} rejected"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
