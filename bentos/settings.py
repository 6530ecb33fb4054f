"""The service's own `CHURN_*` knobs (workers, batching, overload), read once at import.

Separate from `churn.settings` because only the service reads them and a bad value must stop
`bentoml serve` before any worker starts, with the variable named (docs/CONTRACT.md lists them).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from churn.schema import MAX_BATCH_RECORDS

ENV_PREFIX = "CHURN_"

OnOff = Literal["on", "off"]


class ServiceSettingsError(ValueError):
    """A `CHURN_*` service variable has a bad value; the message names each variable."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    service_workers: Annotated[int, Field(ge=1, le=64)] = 2
    """BentoML workers (processes)."""
    batch_max_latency_ms: Annotated[int, Field(ge=1)] = 1000
    """Adaptive batching latency budget of `/predict_batch`."""
    batch_max_size: Annotated[int, Field(ge=1)] = MAX_BATCH_RECORDS
    """Adaptive batching: the largest merged batch."""
    batching: OnOff = "on"
    """`off` makes `/predict_batch` a plain API (no merging)."""
    direct_predict: OnOff = "on"
    """`on`: the guard answers `/predict` and big batches itself (bentos/direct.py); `off`:
    every request goes through BentoML's dispatch."""
    batch_direct_records: Annotated[int, Field(ge=1)] = 256
    """A `/predict_batch` request with at least this many records skips the batcher."""
    max_in_flight: Annotated[int, Field(ge=1)] = 256
    """Requests in flight per worker before 503 + Retry-After."""
    trace_api: OnOff = "off"
    """OpenTelemetry spans for API calls; off by default (no exporter here, and they cost CPU)."""


def load_service_settings() -> ServiceSettings:
    """The knobs from the environment, or `ServiceSettingsError` naming every bad variable."""
    try:
        return ServiceSettings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise ServiceSettingsError("bad service setting: " + "; ".join(problems)) from None
