"""Compare Locust's stats CSV with load_tests/slo.yaml; print the figures, exit 1 on a breach."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import yaml

LIMITS = {
    "max_failure_ratio": ("failure ratio", lambda r: r["failures"] / max(r["requests"], 1), max),
    "max_p50_ms": ("p50 ms", lambda r: r["p50"], max),
    "max_p95_ms": ("p95 ms", lambda r: r["p95"], max),
    "max_p99_ms": ("p99 ms", lambda r: r["p99"], max),
    "min_requests_per_second": ("req/s", lambda r: r["rps"], min),
}


def read_stats(path: Path) -> dict[str, dict[str, float]]:
    """Rows keyed by "METHOD name" (and "Aggregated")."""
    out: dict[str, dict[str, float]] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            key = row["Name"] if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
            out[key] = {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "p99": float(row["99%"]),
            }
    return out


def breaches(stats: dict[str, dict[str, float]], slo: dict[str, Any]) -> list[str]:
    targets = {"Aggregated": slo.get("aggregate", {}), **slo.get("endpoints", {})}
    problems: list[str] = []
    for key, limits in targets.items():
        if key not in stats:
            problems.append(f"{key}: no requests recorded")
            continue
        for limit_name, bound in limits.items():
            label, measure, kind = LIMITS[limit_name]
            value = measure(stats[key])
            ok = value <= bound if kind is max else value >= bound
            if not ok:
                problems.append(f"{key}: {label} {value:.3g} breaks {limit_name}={bound}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: check_slo.py STATS_CSV SLO_YAML", file=sys.stderr)
        return 2
    stats = read_stats(Path(argv[0]))
    slo = yaml.safe_load(Path(argv[1]).read_text())
    print(f"{'endpoint':<24}{'requests':>10}{'fail':>6}{'req/s':>9}{'p50':>7}{'p95':>7}{'p99':>7}")
    for key, r in stats.items():
        print(
            f"{key:<24}{r['requests']:>10.0f}{r['failures']:>6.0f}{r['rps']:>9.1f}"
            f"{r['p50']:>7.0f}{r['p95']:>7.0f}{r['p99']:>7.0f}"
        )
    problems = breaches(stats, slo)
    for problem in problems:
        print(f"SLO BREACH: {problem}")
    print("SLO: " + ("broken" if problems else "met"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
