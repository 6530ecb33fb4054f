"""A tiny Starlette app serving only `bentos.outcomes.outcomes_view`, for the API test's uvicorn
(the service mounts the same view at the same path)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from bentos.outcomes import outcomes_view

app = Starlette(routes=[Route("/outcomes", outcomes_view, methods=["GET", "POST"])])
