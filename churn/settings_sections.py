"""The sections of `churn.settings.Settings`: the knobs only one part reads, each set by flat
variables named by the section's prefix and the field (`SECTIONS`). Kept apart from the settings
class so that each module stays short; `churn.settings` re-exports them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from churn.schema import MAX_BATCH_RECORDS

ENV_PREFIX = "CHURN_"
OnOff = Literal["on", "off"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceKnobs(_Section):
    """`CHURN_<FIELD>`: workers, batching, overload and tracing of the BentoML service."""

    service_workers: Annotated[int, Field(ge=1, le=64)] = 2
    """BentoML workers (processes)."""
    batch_max_latency_ms: Annotated[int, Field(ge=1)] = 1000
    """Adaptive batching latency budget of `/predict_batch`."""
    batch_max_size: Annotated[int, Field(ge=1)] = MAX_BATCH_RECORDS
    """Adaptive batching: the largest merged batch."""
    batching: OnOff = "on"
    """`off` makes `/predict_batch` a plain API (no merging)."""
    max_in_flight: Annotated[int, Field(ge=1)] = 256
    """Requests in flight per worker before 503 + Retry-After."""
    trace_api: OnOff = "off"
    """OpenTelemetry spans for API calls; off by default (no exporter here, and they cost CPU)."""


class WriterKnobs(_Section):
    """`CHURN_PREDICTION_LOG_<FIELD>`: the service's prediction log writer."""

    max_backlog: int = Field(default=50_000, ge=1)
    """Rows accepted but not yet written, per worker, before `append` refuses (about 1 KB each)."""
    grace_s: float = Field(default=20.0, gt=0)
    """How long `close()` may drain; under Kubernetes' terminationGracePeriodSeconds (30)."""
    retry_base_s: float = Field(default=0.1, gt=0)
    retry_max_s: float = Field(default=5.0, gt=0)


class LiveKnobs(_Section):
    """`CHURN_MODEL_<FIELD>`: live model switching and shadow scoring in each worker."""

    poll_s: float = Field(default=1.0, gt=0, le=25)
    """How often a worker reads the serving state (one primary-key read of one row, off the
    request path): a promotion is served within about a second; at most 25 s (within 30 s)."""
    shadow_backlog: int = Field(default=20_000, ge=1)
    """Records waiting for the challenger, per worker, before more are dropped (and counted)."""


class UiKnobs(_Section):
    """`CHURN_UI_<FIELD>`: the Flask ops UI (frontends/flask_app/config.py, gunicorn.conf.py)."""

    env: str = "production"
    """`production` needs FLASK_SECRET_KEY; `development` makes a throw-away key."""
    max_upload_mb: float = Field(default=5.0, gt=0)
    max_rows: int = Field(default=20_000, ge=1)
    service_retries: int = Field(default=2, ge=0)
    rate_limit: str = "60 per minute"
    row_rate_limit: str = "100000 per hour"
    batch_dir: Path | None = None
    """Where uploaded batches wait for download (default: `<temp dir>/churn-ui`)."""
    batch_ttl_s: int = Field(default=3600, ge=1)
    secure_cookies: bool = False
    """`true` behind the TLS edge: cookies are `Secure` and the session cookie gets `__Host-`."""
    lockout_tries: int = Field(default=5, ge=1)
    """Sign-in tries per account before it is locked (churn/db/sign_in_guard.py)."""
    address_tries: int = Field(default=30, ge=1)
    """Failed sign-in tries per client address before it is locked (any account, or none)."""
    lockout_s: float = Field(default=60.0, gt=0)
    """The first lockout; each try while over the limit doubles it, up to `lockout_max_s`."""
    lockout_max_s: float = Field(default=900.0, gt=0)
    try_window_s: float = Field(default=900.0, gt=0)
    """Tries older than this (since the last one) are forgotten."""
    password_checks: int = Field(default=2, ge=1, le=64)
    """Password hashes computed at once per process (each scrypt check takes 32 MiB)."""
    first_admin_file: Path | None = None
    """Where `flask users first-admin` writes the generated password (mode 600); deleted when
    that admin changes it at the first sign-in."""
    session_max_s: float = Field(default=8 * 3600.0, gt=0)
    """A UI session's absolute lifetime."""
    session_idle_s: float = Field(default=1800.0, gt=0)
    """A UI session unused this long ends."""
    workers: int = Field(default=2, ge=1)
    threads: int = Field(default=4, ge=1)


class EventKnobs(_Section):
    """`CHURN_KAFKA_<FIELD>`: the customer-events consumer and producer (docs/events.md)."""

    bootstrap: str = "127.0.0.1:9092"
    """Kafka bootstrap servers, `host:port[,host:port]` (a managed Kafka in production)."""
    topic: str = "customer-events"
    """Where the customer events arrive (keyed by customerID: one customer, one partition)."""
    alerts_topic: str = "retention-alerts"
    dead_letter_topic: str = "customer-events-dead-letter"
    """Events that fail the contract, with the reason in the `churn-error` header."""
    group: str = "churn-events"
    """The consumer group: consumers in it share the partitions (scale by partitions)."""
    security_protocol: Literal["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"] = "plaintext"
    sasl_mechanism: str | None = None
    """`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `OAUTHBEARER`, passed to librdkafka."""
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = None
    ssl_certificate_location: Path | None = None
    ssl_key_location: Path | None = None
    batch: int = Field(default=500, ge=1, le=10_000)
    """Events taken per poll, handled together (one feature read and write, one log write)."""
    alert_rise: float = Field(default=0.15, gt=0, le=1)
    """A re-score this much above the customer's previous one is published as an alert."""
    alert_threshold: float | None = Field(default=None, ge=0, le=1)
    """A re-score crossing this from below is an alert; unset: the production model's threshold
    (the campaign's decision threshold)."""
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    """How long a consumer that died keeps its partitions before the group moves them."""
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    """`churn events consume` serves Prometheus metrics here (0: none)."""
    metrics_address: str = "127.0.0.1"
    """Where the metrics listen (`0.0.0.0` in a container, for Prometheus to scrape)."""


class LoadKnobs(_Section):
    """`CHURN_LOAD_<FIELD>`: the Locust traffic (load_tests/locustfile.py)."""

    pool: int = Field(default=2000, ge=1)
    """Customer records drawn once per Locust process."""
    wait_min: float = Field(default=0.01, ge=0)
    wait_max: float = Field(default=0.1, ge=0)


SECTIONS: dict[str, str] = {
    "service": ENV_PREFIX,
    "writer": "CHURN_PREDICTION_LOG_",
    "live": "CHURN_MODEL_",
    "ui": "CHURN_UI_",
    "load": "CHURN_LOAD_",
    "events": "CHURN_KAFKA_",
}
"""Section field -> the prefix of its variables."""
