"""A one-line progress bar on a terminal (rows, rows/s, time left); silent when not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """`update(rows)` after each chunk. The total is exact for Parquet and estimated for a CSV
    from its size and the bytes per row seen so far."""

    def __init__(
        self, total_bytes: int, total_rows: int | None = None, stream: TextIO | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.total_bytes = total_bytes
        self.total_rows = total_rows
        self.rows = 0
        self.bytes = 0
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, rows: int, nbytes: int = 0) -> None:
        self.rows += rows
        self.bytes += nbytes
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        self.stream.write("\r" + self.line(now - self.started))
        self.stream.flush()

    def line(self, elapsed: float) -> str:
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        total = self.total_rows
        if total is None and self.bytes:
            total = int(self.total_bytes * self.rows / self.bytes)
        if not total or not rate:
            return f"{self.rows:,} rows  {rate:,.0f} rows/s"
        share = min(self.rows / total, 1.0)
        bar = "#" * int(share * 30)
        left = max(total - self.rows, 0) / rate
        return (
            f"[{bar:<30}] {self.rows:,}/~{total:,} rows  {rate:,.0f} rows/s  "
            f"{int(left) // 60}:{int(left) % 60:02d} left"
        )

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self.line(time.monotonic() - self.started) + "\n")
            self.stream.flush()
