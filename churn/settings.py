"""One settings object for every part of the product, read from `CHURN_*` variables and `.env`.

`Settings` is the one `BaseSettings` class. The knobs only one part reads are grouped in sections
(`settings.service`, `.writer`, `.live`, `.ui`, `.load`, `.events`), still set by flat variables
named by the section's prefix and the field (`CHURN_SERVICE_WORKERS`,
`CHURN_PREDICTION_LOG_GRACE_S`, `CHURN_MODEL_POLL_S`, `CHURN_UI_MAX_ROWS`, `CHURN_LOAD_POOL`,
`CHURN_KAFKA_BOOTSTRAP`; the sections' models are in `churn.settings_sections`): the sections come
from the process environment, or from a file of the variable's name in `CHURN_SECRETS_DIR` (a
section's password mounted as a file), and `.env` is for the shared fields. `load_settings()`
names each bad variable with its value (the service stops on one before any worker starts).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
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
from churn.settings_sections import (
    ENV_PREFIX,
    SECTIONS,
    EventKnobs,
    LiveKnobs,
    LoadKnobs,
    ServiceKnobs,
    UiKnobs,
    WriterKnobs,
)

__all__ = [
    "REPO_ROOT",
    "EventKnobs",
    "LiveKnobs",
    "LoadKnobs",
    "ServiceKnobs",
    "Settings",
    "SettingsError",
    "UiKnobs",
    "WriterKnobs",
    "get_settings",
    "load_settings",
]

DEFAULT_SCOPE_MAP: dict[str, Literal["predict", "admin"]] = {
    "churn.predict": "predict",
    "churn.admin": "admin",
}


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
