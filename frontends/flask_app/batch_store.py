"""Scored batch results kept on disk for download, shared by every gunicorn worker.

Tokens are random and unguessable; files older than the TTL are swept on each save.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class BatchStore:
    def __init__(self, folder: Path, ttl_s: int) -> None:
        self.folder = folder
        self.ttl_s = ttl_s

    def save(self, csv_text: str) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._sweep()
        token = secrets.token_urlsafe(24)
        (self.folder / f"{token}.csv").write_text(csv_text, encoding="utf-8")
        return token

    def path(self, token: str) -> Path | None:
        """The file for `token`, or None when the token is malformed, unknown or expired."""
        if not TOKEN_RE.match(token):
            return None
        path = self.folder / f"{token}.csv"
        if not path.is_file() or time.time() - path.stat().st_mtime > self.ttl_s:
            return None
        return path

    def _sweep(self) -> None:
        now = time.time()
        for old in self.folder.glob("*.csv"):
            try:
                if now - old.stat().st_mtime > self.ttl_s:
                    old.unlink()
            except OSError:
                continue
