"""One settings object for every part of the product, read from `CHURN_*` variables and `.env`.

`Settings` is the one `BaseSettings` class. The knobs only one part reads are grouped in sections
(`settings.service`, `.writer`, `.live`, `.ui`, `.load`, `.events`), still set by flat variables
named by the section's prefix and the field (`CHURN_SERVICE_WORKERS`,
`CHURN_PREDICTION_LOG_GRACE_S`, `CHURN_MODEL_POLL_S`, `CHURN_UI_MAX_ROWS`, `CHURN_LOAD_POOL`,
`CHURN_KAFKA_BOOTSTRAP`): the sections come from the process
environment only, like before, and `.env` is for the shared fields. `load_settings()` names each
bad variable with its value (the service stops on one before any worker starts).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from churn.paths import REPO_ROOT
from churn.schema import MAX_BATCH_RECORDS

__all__ = ["REPO_ROOT", "Settings", "SettingsError", "get_settings", "load_settings"]

ENV_PREFIX = "CHURN_"
OnOff = Literal["on", "off"]
DEFAULT_SCOPE_MAP: dict[str, Literal["predict", "admin"]] = {
    "churn.predict": "predict",
    "churn.admin": "admin",
}


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


class SettingsError(ValueError):
    """A setting has a bad value; the message names each variable and its value."""


class _SectionVariables(PydanticBaseSettingsSource):
    """Each section's fields from its flat variables in the process environment, else from the
    file of that name in `CHURN_SECRETS_DIR` (a section's password is a mounted file too)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is read in __call__

    def __call__(self) -> dict[str, Any]:
        env = {name.upper(): value for name, value in os.environ.items()}
        folder = env.get(ENV_PREFIX + "SECRETS_DIR")
        out: dict[str, Any] = {}
        for section, prefix in SECTIONS.items():
            model = self.settings_cls.model_fields[section].annotation
            assert isinstance(model, type) and issubclass(model, BaseModel)
            found = {}
            for n in model.model_fields:
                variable = prefix + n.upper()
                if variable in env:
                    found[n] = env[variable]
                elif folder and (Path(folder) / variable).is_file():
                    found[n] = (Path(folder) / variable).read_text().strip()
            if found:
                out[section] = found
        return out


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    default_data: Path = REPO_ROOT / "data" / "raw" / "telco_churn.csv"
    real_data: Path = REPO_ROOT.parent / "shared" / "data" / "telco_customer_churn.csv"
    """The public IBM Telco CSV for tests and benchmarks (`CHURN_REAL_DATA`); never committed."""
    reports_dir: Path = REPO_ROOT / "reports"
    mlflow_tracking_uri: str = f"sqlite:///{REPO_ROOT / 'mlruns.db'}"
    mlflow_experiment: str = "telco_churn"
    prediction_db: str = f"sqlite:///{REPO_ROOT / 'data' / 'predictions.db'}"
    service_url: str = "http://127.0.0.1:3000"
    model_name: str = "telco_churn"
    bento_name: str = "churn_service"
    request_timeout_s: float = 10.0
    drift_share_threshold: float = 0.05
    """Reference line on the dashboard; keep it equal to configs/monitoring.yaml's threshold."""
    pushgateway_url: str | None = None
    """Prometheus Pushgateway for the monitoring run's drift gauges (e.g. http://127.0.0.1:9091)."""
    pushgateway_user: str | None = None
    """Basic-auth user for the Pushgateway's `--web.config.file` (docs/monitoring.md)."""
    pushgateway_password: SecretStr | None = Field(default=None, validate_default=True)
    """Its password; set both or neither (a locked gateway refuses an anonymous push)."""
    customer_id_key: str | None = None
    """Secret for `churn.privacy.customer_key`: set, stores keep HMAC(customerID), not the ID."""
    allow_raw_customer_ids: bool = False
    """`true`: a PostgreSQL project database may store raw customer IDs (no key), on purpose
    (`churn.control.privacy.require_customer_key`)."""
    retention_days: int | None = Field(default=None, ge=1)
    """Prediction-log rows and outcomes older than this many days are purged by each monitoring
    run (docs/security.md, "Retention"); unset keeps everything."""
    auth: Literal["on", "off"] = "on"
    """Bearer tokens on the service's routes (bentos/auth.py); `off` is for local work only."""
    metrics_auth: Literal["on", "off"] = "off"
    """`on`: `/metrics` needs a `predict` token too (Prometheus then scrapes with one)."""
    auth_refresh_s: float = Field(default=5.0, gt=0, le=300)
    """How often each worker reloads the token digests: the bound on a revoked token's life."""
    api_token: str | None = None
    """The token clients send (frontends, Locust, scripts); `make run` writes it to `.env`."""
    flask_secret_key: str = Field(default="", validation_alias="FLASK_SECRET_KEY")
    """The Flask UI's session signing key (`FLASK_SECRET_KEY`)."""
    flask_port: int = Field(default=5001, ge=1, le=65535, validation_alias="FLASK_PORT")
    rate_limit_storage: str = "memory://"
    """Flask-Limiter's storage URI for the UI's limits (`redis://...` with several instances)."""
    proxy_hops: int = Field(default=0, ge=0)
    """Trusted proxies in front of the UI (werkzeug ProxyFix); 0 ignores X-Forwarded-For."""
    secrets_dir: Path | None = None
    """A folder of secret files, one per variable (`CHURN_PREDICTION_DB`, `CHURN_CUSTOMER_ID_KEY`,
    `FLASK_SECRET_KEY`...): how containers get secrets (compose secrets, Kubernetes Secrets mounted
    as files) so none is an environment variable `docker inspect` shows. A variable set in the
    environment still wins (docs/security.md, "Secrets")."""
    sign_in: Literal["local", "oidc", "both"] = "local"
    """How people sign in to the UIs: the project's accounts, the OpenID provider, or both."""
    oidc_issuer: str | None = None
    """The OpenID provider's issuer URL (discovery: `<issuer>/.well-known/openid-configuration`)."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_client_secret_file: Path | None = None
    """A file holding the client secret (a mounted Kubernetes or compose secret)."""
    oidc_scopes: str = "openid profile email"
    """Scopes the UIs ask for (Okta needs `groups` added for the groups claim)."""
    oidc_roles_claim: str = "groups"
    """The ID token / userinfo claim listing the person's groups or roles."""
    oidc_role_map: dict[str, Literal["viewer", "analyst", "admin"]] = Field(default_factory=dict)
    """JSON: a claim value -> a UI role, e.g. `{"churn-admins": "admin"}`; the highest wins."""
    dashboard_url: str = "http://127.0.0.1:8501"
    """The dashboard's public address: its `st.login` redirect URI is this + `/oauth2callback`."""
    dashboard_oidc_prompt: str = "login"
    """The `prompt` the dashboard's `st.login` sends (Streamlit's own default, `select_account`,
    is refused by providers that do not support it; `login` is in OpenID Connect Core)."""
    dashboard_cookie_secret: SecretStr | None = None
    """Signs the dashboard's sign-in cookie; set it (the same in every replica) to keep people
    signed in across restarts (unset: a new one at each start)."""
    oidc_audience: str | None = None
    """The API's audience: a provider access token for the service must name it (`aud`)."""
    oidc_scope_map: dict[str, Literal["predict", "admin"]] = Field(
        default_factory=lambda: dict(DEFAULT_SCOPE_MAP)
    )
    """JSON: an access token's scope -> the service's scope."""
    audit_actor: str | None = None
    """Who the audit rows name when no `--actor` is given (the CI workflow sets
    `github:<run id>`); unset: the OS user (`churn.db.audit.default_actor`)."""

    feature_dir: Path = REPO_ROOT / "data" / "features"
    """The embedded feature store (docs/features.md): Parquet offline store, SQLite online store
    and file registry, for each of the three below that is unset."""
    feature_online_store: str | None = None
    """`redis://[:password@]host:port/db` (or `rediss://`); unset: SQLite under `feature_dir`."""
    feature_offline_store: str | None = None
    """`postgresql://user:password@host:port/db?sslmode=...` (sslmode `require` when the URL names
    none); unset: Parquet files under `feature_dir`."""
    feature_registry: str | None = None
    """The Feast registry, `postgresql://...` like the offline store; unset: a file under
    `feature_dir`."""
    feature_max_age_hours: float = Field(default=48.0, gt=0)
    """Online attributes older than this are refused as stale (the nightly extract plus a day)."""

    service: ServiceKnobs = Field(default_factory=ServiceKnobs)
    writer: WriterKnobs = Field(default_factory=WriterKnobs)
    live: LiveKnobs = Field(default_factory=LiveKnobs)
    ui: UiKnobs = Field(default_factory=UiKnobs)
    load: LoadKnobs = Field(default_factory=LoadKnobs)
    events: EventKnobs = Field(default_factory=EventKnobs)

    @field_validator("feature_online_store", "feature_offline_store", "feature_registry")
    @classmethod
    def _store_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        schemes = ("redis", "rediss") if info.field_name == "feature_online_store" else (
            "postgresql", "postgres")  # fmt: skip
        if value.split("://", 1)[0] not in schemes or "://" not in value:
            raise ValueError(f"must be a {' or '.join(s + '://' for s in schemes)} URL")
        return value

    @field_validator("pushgateway_password")
    @classmethod
    def _both_or_neither(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        user = info.data.get("pushgateway_user")
        if bool(user) != bool(value and value.get_secret_value()):
            raise ValueError(
                "set CHURN_PUSHGATEWAY_USER and CHURN_PUSHGATEWAY_PASSWORD together (or neither)"
            )
        return value

    def oidc_secret(self) -> str | None:
        """The client secret, from `CHURN_OIDC_CLIENT_SECRET` or the file it names."""
        if self.oidc_client_secret is not None:
            return self.oidc_client_secret.get_secret_value()
        if self.oidc_client_secret_file is not None:
            try:
                return self.oidc_client_secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(
                    f"CHURN_OIDC_CLIENT_SECRET_FILE={str(self.oidc_client_secret_file)!r}: "
                    f"cannot read it ({exc.strerror})"
                ) from None
        return None

    @property
    def oidc_on(self) -> bool:
        return self.sign_in in ("oidc", "both")

    @property
    def local_on(self) -> bool:
        return self.sign_in in ("local", "both")

    def pushgateway_auth(self) -> tuple[str, str] | None:
        """(user, password) for the Pushgateway, or None when it is open."""
        if self.pushgateway_user and self.pushgateway_password:
            return self.pushgateway_user, self.pushgateway_password.get_secret_value()
        return None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sections = _SectionVariables(settings_cls)
        folder = os.environ.get(ENV_PREFIX + "SECRETS_DIR")
        if folder:
            file_secret_settings = SecretsSettingsSource(settings_cls, secrets_dir=folder)
        return init_settings, sections, env_settings, dotenv_settings, file_secret_settings


def variable_of(loc: tuple[int | str, ...]) -> str:
    """The environment variable behind a validation error's location."""
    head = str(loc[0])
    if head in SECTIONS and len(loc) > 1:
        return SECTIONS[head] + str(loc[1]).upper()
    if head not in Settings.model_fields:  # a field read by its alias: the loc is the variable
        return head
    return ENV_PREFIX + head.upper()


def _shown(variable: str, value: Any) -> str:
    """A bad value for the error message; a secret's is never printed (logs keep it)."""
    secret = variable.endswith(("PASSWORD", "TOKEN", "SECRET", "_KEY")) and value is not None
    return "'***'" if secret else repr(value)


def load_settings(env_file: bool = True) -> Settings:
    """The settings, or `SettingsError` naming every bad variable with its value.

    `env_file=False`: the process environment only, no `.env` (what a framework declaration
    evaluated at import reads: `bentos/service.py`, `pipelines/training.py`)."""
    try:
        return Settings() if env_file else Settings(_env_file=None)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = [
            f"{variable_of(err['loc'])}={_shown(variable_of(err['loc']), err.get('input'))}: "
            f"{err['msg']}"
            for err in exc.errors()
        ]
        raise SettingsError("bad setting: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
