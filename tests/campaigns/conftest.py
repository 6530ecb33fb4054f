"""The campaign pages' tests reuse the frontends' browser and Flask helpers, which import each
other as top-level modules (tests/frontends is on the path when its own tests run)."""

from __future__ import annotations

import sys
from pathlib import Path

FRONTENDS_TESTS = str(Path(__file__).resolve().parents[1] / "frontends")
if FRONTENDS_TESTS not in sys.path:
    sys.path.insert(0, FRONTENDS_TESTS)
