"""The repository root: the one place every module finds it (cheap to import, no settings)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
