"""Security fixtures: the serving suite's model and service factory (tests/serving/conftest.py),
plus the token store of a service's own database."""

from __future__ import annotations

from tests.serving.conftest import served_model, serving_frame, start

__all__ = ["served_model", "serving_frame", "start"]
