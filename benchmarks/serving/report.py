"""The serving benchmark's scenarios and what it prints and checks about them
(benchmarks/serving_benchmark.py runs them)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from benchmarks.serving.loadgen import LoadResult


@dataclass
class Scenario:
    name: str
    target: str
    path: str
    single: bool  # True: {"customer": r}; False: {"customers": [r]}
    users: int = 0  # 0: --users
    role: str = ""  # "shipped" (the goal's row), "baseline" (Flask), "ceiling", "overload"
    runs: list[LoadResult] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)

    def median(self, metric: str) -> float:
        if metric in ("server_cpu_ms", "loadgen_cpu_ms"):
            return statistics.median(c[metric] for c in self.cpu)
        return statistics.median(getattr(r, metric) for r in self.runs)

    def capacity(self, cores: float = 2.0) -> float:
        """Requests/s the measured CPU cost allows on `cores` dedicated cores (server + loadgen)."""
        per_request_ms = self.median("server_cpu_ms") + self.median("loadgen_cpu_ms")
        return 1000.0 * cores / per_request_ms

    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    def shed(self) -> int:
        return sum(r.shed for r in self.runs)


def print_table(scenarios: list[Scenario], baseline: Scenario, ceiling: Scenario) -> None:
    print(
        f"\n{'scenario':<52}{'req/s':>7}{'p50':>7}{'p95':>7}{'p99':>7}{'err':>5}{'503':>6}"
        f"{'x flask':>8}{'%ceil':>7}"
        f"{'srv cpu':>9}{'gen cpu':>9}{'cap/2c':>8}{'x flask':>8}"
    )
    for s in scenarios:
        ratio = s.median("rps") / baseline.median("rps")
        of_ceiling = 100 * s.median("rps") / ceiling.median("rps")
        cap_ratio = s.capacity() / baseline.capacity()
        print(
            f"{s.name:<52}{s.median('rps'):>7.0f}{s.median('p50_ms'):>7.1f}"
            f"{s.median('p95_ms'):>7.1f}{s.median('p99_ms'):>7.1f}{s.errors():>5}{s.shed():>6}"
            f"{ratio:>8.1f}{of_ceiling:>6.0f}%"
            f"{s.median('server_cpu_ms'):>9.2f}{s.median('loadgen_cpu_ms'):>9.2f}"
            f"{s.capacity():>8.0f}{cap_ratio:>8.1f}"
        )
    print(
        "x flask: req/s over the naive Flask baseline's; %ceil: req/s as a % of the BentoML "
        "ceiling's (same config, constant answer);\nsrv/gen cpu: CPU ms per request of the "
        "server process tree / the load generator; cap/2c: req/s that CPU cost allows on 2 "
        "dedicated cores"
    )


def framework_limits(shipped: Scenario, ceilings: list[Scenario]) -> list[str]:
    """How far `/predict` is from each ceiling, in req/s and in server CPU per request.

    "our work adds" = shipped server CPU/request - the ceiling's: what scoring, the prediction log
    (its writer thread included), metrics and the real handler cost on top of that framework."""
    lines = []
    for c in ceilings:
        extra = shipped.median("server_cpu_ms") - c.median("server_cpu_ms")
        lines.append(
            f"  /predict = {100 * shipped.median('rps') / c.median('rps'):.0f}% of "
            f"{c.name.split(' POST')[0].strip()} ({c.median('rps'):.0f} req/s, "
            f"p99 {c.median('p99_ms'):.1f} ms, server CPU {c.median('server_cpu_ms'):.2f} ms/req; "
            f"our work adds {extra:.2f} ms/req; cap/2c {c.capacity():.0f} req/s)"
        )
    return lines


def check_goals(
    scenarios: list[Scenario], baseline: Scenario, batch: LoadResult
) -> dict[str, tuple[bool, str]]:
    """The targets of docs/serving.md, against this run's medians."""
    direct = next(s for s in scenarios if s.role == "shipped")
    ratio = direct.median("rps") / baseline.median("rps")
    rps, p99 = direct.median("rps"), direct.median("p99_ms")
    out = {
        "/predict at 32 users >= 1200 req/s, p99 <= 50 ms, no errors": (
            rps >= 1200 and p99 <= 50 and direct.errors() == 0 and direct.shed() == 0,
            f"{rps:.0f} req/s, p99 {p99:.1f} ms, {direct.errors()} errors, {direct.shed()} 503",
        ),
        ">= 10x naive Flask": (ratio >= 10, f"{ratio:.1f}x"),
        "/predict_batch 1,000 records <= 50 ms (median)": (
            batch.p50_ms <= 50 and batch.errors == 0,
            f"{batch.p50_ms:.1f} ms",
        ),
    }
    for s in scenarios:
        if s.role != "overload":
            continue
        out[f"{s.name.split(',')[-1].strip()}: no errors or timeouts (quick 503 allowed)"] = (
            s.errors() == 0,
            f"{s.median('rps'):.0f} req/s, p99 {s.median('p99_ms'):.1f} ms, "
            f"{s.errors()} errors, {s.shed()} 503 "
            f"(p99 {max(r.shed_p99_ms for r in s.runs):.1f} ms)",
        )
    return out
