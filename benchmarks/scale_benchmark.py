"""Rows against time and peak memory: `churn predict` and `churn validate` at 10k to 10M customers.

Each command runs under `/usr/bin/time -v` (wall time, CPU time, peak RSS), `--repeats` times
(median reported), beside the same file's pyarrow read as the floor. The table it prints is the
one in docs/scale.md. Files come from `churn generate` (streamed, any size); sizes above
`--generate-max` are made by repeating the `--generate-max` file with a copy number appended to
each id (generating 10M rows here takes far longer than scoring them).

More commands (training, the drift check) join with `--command NAME=TEMPLATE`, where `{csv}` is
the size's file and `{rows}` its row count, e.g.

    python benchmarks/scale_benchmark.py --sizes 10000,100000 \
        --command 'train=make train DATA={csv}'

Usage: python benchmarks/scale_benchmark.py [--sizes 10000,100000,1000000,10000000]
       [--repeats 1] [--workdir /tmp/churn-scale] [--bad-every 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHURN = str(Path(sys.executable).with_name("churn"))
FLOOR = "pyarrow read"
BUILT_IN = {
    "churn predict": [CHURN, "predict", "{csv}", "--out", "{work}/scored-{rows}.csv"],
    "churn validate": [CHURN, "validate", "{csv}"],
    FLOOR: [sys.executable, "-c", "import pyarrow.csv as c, sys; c.read_csv(sys.argv[1])", "{csv}"],
}


@dataclass
class Run:
    command: str
    rows: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int


def measure(argv: list[str]) -> tuple[float, float, float, int, str]:
    """(wall s, user+sys s, peak RSS MB, exit code, stderr) of one run under /usr/bin/time -v."""
    done = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True, cwd=REPO)
    err = done.stderr

    def field(name: str) -> str:
        match = re.search(rf"{re.escape(name)}: (.+)", err)
        if match is None:
            raise RuntimeError(f"no {name!r} in /usr/bin/time output:\n{err[-2000:]}")
        return match.group(1).strip()

    parts = [float(p) for p in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return wall, cpu, int(field("Maximum resident set size (kbytes)")) / 1024, done.returncode, err


def data_file(rows: int, work: Path, generate_max: int) -> Path:
    path = work / f"customers-{rows}.csv"
    if path.exists():
        return path
    if rows <= generate_max:
        argv = [CHURN, "generate", "--rows", str(rows), "--seed", "7", "--out", str(path)]
        subprocess.run(argv, check=True, cwd=REPO)
        return path
    base = data_file(generate_max, work, generate_max)
    copies = -(-rows // generate_max)
    with base.open() as src, path.open("w") as out:
        out.write(src.readline())
        body = src.readlines()
        left = rows
        for k in range(copies):
            for line in body[: min(left, len(body))]:
                cid, rest = line.split(",", 1)
                out.write(f"{cid}-{k},{rest}" if k else line)
            left -= len(body)
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


def growth(runs: list[Run]) -> dict[tuple[str, int], str]:
    """Per command, each size's time and memory against the previous size's."""
    out = {}
    for command in dict.fromkeys(r.command for r in runs):
        mine = [r for r in runs if r.command == command]
        for before, after in itertools.pairwise(mine):
            out[(command, after.rows)] = (
                f"x{after.rows / before.rows:g} rows: time x{after.wall_s / before.wall_s:.1f}, "
                f"memory x{after.peak_mb / before.peak_mb:.2f}"
            )
    return out


def table(runs: list[Run]) -> str:
    grown = growth(runs)
    lines = [
        "| command | rows | wall s | CPU s | peak RSS MB | rows/s | growth |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in runs:
        rate = f"{r.rows / r.wall_s:,.0f}" if r.wall_s else "-"
        lines.append(
            f"| `{r.command}` | {r.rows:,} | {r.wall_s:.1f} | {r.cpu_s:.1f} | {r.peak_mb:,.0f} "
            f"| {rate} | {grown.get((r.command, r.rows), '')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/churn-scale"))
    parser.add_argument("--generate-max", type=int, default=1_000_000)
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
    runs: list[Run] = []
    for rows in (int(s) for s in args.sizes.split(",")):
        csv = data_file(rows, args.workdir, args.generate_max)
        for name, template in commands.items():
            argv_ = [a.format(csv=csv, rows=rows, work=args.workdir) for a in template]
            results = [measure(argv_) for _ in range(args.repeats)]
            runs.append(
                Run(
                    name,
                    rows,
                    statistics.median(r[0] for r in results),
                    statistics.median(r[1] for r in results),
                    statistics.median(r[2] for r in results),
                    results[-1][3],
                )
            )
            print(json.dumps(asdict(runs[-1])), flush=True)
    print(table(runs))
    if args.bad_every:
        bad = with_bad_rows(csv, args.bad_every)
        argv_ = [CHURN, "predict", str(bad), "--out", str(args.workdir / "scored-bad.csv")]
        wall, cpu, peak, code, err = measure(argv_)
        listed = len(re.findall(r"^  - line \d+: ", err, flags=re.M))
        summary = re.search(r"^(\d+) row\(s\) failed validation", err, flags=re.M)
        print(
            f"\nbad rows (one in {args.bad_every}): exit {code}, {wall:.1f} s wall, {cpu:.1f} s "
            f"CPU, peak {peak:,.0f} MB; terminal lists {listed} and says "
            f"{summary.group(1) if summary else '?'} rejected"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
