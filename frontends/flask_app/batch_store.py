"""Scored batch results kept on disk for download, shared by every gunicorn worker.

Tokens are random and unguessable. The files hold what was uploaded (customer IDs among it), so
none outlives its TTL: a worker sweeps the folder when it starts, on each save, and on a timer
(every TTL/2, at most a minute apart) from its first save on, so an idle UI deletes them too.
Files are 0600: only the UI's user reads them.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from pathlib import Path

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
MAX_SWEEP_INTERVAL_S = 60.0


class BatchStore:
    def __init__(self, folder: Path, ttl_s: int) -> None:
        self.folder = folder
        self.ttl_s = ttl_s
        self.sweep_interval_s = min(max(ttl_s / 2, 1.0), MAX_SWEEP_INTERVAL_S)
        self._timer: threading.Thread | None = None
        self._lock = threading.Lock()
        if folder.is_dir():
            self.sweep()  # what an earlier run left

    def save(self, csv_text: str) -> str:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.sweep()
        self._start_timer()
        token = secrets.token_urlsafe(24)
        fd = os.open(self.folder / f"{token}.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(csv_text)
        return token

    def path(self, token: str) -> Path | None:
        """The file for `token`, or None when the token is malformed, unknown or expired."""
        if not TOKEN_RE.match(token):
            return None
        path = self.folder / f"{token}.csv"
        if not path.is_file() or time.time() - path.stat().st_mtime > self.ttl_s:
            return None
        return path

    def sweep(self) -> int:
        """Delete the files older than the TTL; how many went."""
        now, gone = time.time(), 0
        for old in self.folder.glob("*.csv"):
            try:
                if now - old.stat().st_mtime > self.ttl_s:
                    old.unlink()
                    gone += 1
            except OSError:
                continue
        return gone

    def _start_timer(self) -> None:
        """One daemon thread per worker process (started after gunicorn's fork, at first use)."""
        with self._lock:
            if self._timer is not None and self._timer.is_alive():
                return
            self._timer = threading.Thread(
                target=self._sweep_forever, name="churn-batch-sweep", daemon=True
            )
            self._timer.start()

    def _sweep_forever(self) -> None:
        while True:
            time.sleep(self.sweep_interval_s)
            self.sweep()
