"""`trained_model` comes from the plugin tests/fixtures/training.py.

The root tests/conftest.py lists it in `pytest_plugins` (pytest allows that only at the top level).
Until it does, import the fixture here; once it does, the plugin module is already loaded and this
import is skipped, so the pipeline still runs only once per session.
"""

from __future__ import annotations

import sys

if "tests.fixtures.training" not in sys.modules:
    from tests.fixtures.training import trained_model  # noqa: F401
