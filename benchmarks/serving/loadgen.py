"""A closed-loop HTTP load generator on aiohttp (cheap on CPU, unlike httpx's async client)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import numpy as np

JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int  # failures other than a quick overload answer (timeouts, 5xx, 4xx)
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    shed: int = 0  # 503 with Retry-After: the service's overload answer
    shed_p99_ms: float = 0.0  # how quick that answer was

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(
    latencies: list[float], errors: int, seconds: float, shed: list[float] | None = None
) -> LoadResult:
    ms = np.asarray(latencies, dtype=float) * 1000 if latencies else np.zeros(1)
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    shed = shed or []
    return LoadResult(
        shed=len(shed),
        shed_p99_ms=float(np.percentile(np.asarray(shed) * 1000, 99)) if shed else 0.0,
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        rps=len(latencies) / seconds,
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
    )


async def _closed_loop(
    url: str,
    body: Callable[[int], Any],
    users: int,
    seconds: float,
    warmup: float,
    headers: dict[str, str],
) -> LoadResult:
    latencies: list[float] = []
    shed: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=users, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + seconds

        async def user(uid: int) -> None:
            nonlocal errors
            i = uid
            while (now := time.perf_counter()) < stop_at:
                overloaded = False
                try:
                    async with session.post(url, json=body(i)) as resp:
                        await resp.read()
                        ok = resp.status == 200
                        overloaded = resp.status == 503 and "Retry-After" in resp.headers
                except (TimeoutError, aiohttp.ClientError):
                    ok = False
                done = time.perf_counter()
                if now >= measure_from:
                    if ok:
                        latencies.append(done - now)
                    elif overloaded:
                        shed.append(done - now)
                    else:
                        errors += 1
                i += users

        await asyncio.gather(*(user(u) for u in range(users)))
    return summarise(latencies, errors, seconds, shed)


def closed_loop(
    url: str,
    body: Callable[[int], Any],
    users: int,
    seconds: float,
    warmup: float = 1.0,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """`users` clients each sending the next request as soon as the last one answered;
    `headers` go with every request (the service's bearer token)."""
    return asyncio.run(_closed_loop(url, body, users, seconds, warmup, headers or {}))


def sequential(
    url: str, body: Any, count: int, headers: dict[str, str] | None = None
) -> LoadResult:
    """`count` requests one after another (latency of big batches).

    The body is encoded once: it is the same every time, and `json.dumps` of 1,000 records costs
    the client ~9 ms per request, which is not the service's latency."""
    raw = json.dumps(body).encode()

    async def run() -> LoadResult:
        latencies: list[float] = []
        errors = 0
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=60), headers=headers or {}
        ) as session:
            t0 = time.perf_counter()
            for _ in range(count + 1):
                start = time.perf_counter()
                async with session.post(url, data=raw, headers=JSON) as resp:
                    await resp.read()
                    ok = resp.status == 200
                if start == t0 or not ok:  # first request is warm-up
                    errors += 0 if ok else 1
                    continue
                latencies.append(time.perf_counter() - start)
            return summarise(latencies, errors, time.perf_counter() - t0)

    return asyncio.run(run())
