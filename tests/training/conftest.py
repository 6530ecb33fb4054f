"""Training tests use the shared `trained_model` plugin (also registered by tests/conftest.py)."""

from __future__ import annotations

pytest_plugins = ["tests.fixtures.training"]
