"""One settings object for every part of the product, read from `CHURN_*` variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from churn.paths import REPO_ROOT

__all__ = ["REPO_ROOT", "Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHURN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
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
    customer_id_key: str | None = None
    """Secret for `churn.privacy.customer_key`: set, stores keep HMAC(customerID), not the ID."""
    auth: Literal["on", "off"] = "on"
    """Bearer tokens on the service's routes (bentos/auth.py); `off` is for local work only."""
    metrics_auth: Literal["on", "off"] = "off"
    """`on`: `/metrics` needs a `predict` token too (Prometheus then scrapes with one)."""
    auth_refresh_s: float = Field(default=5.0, gt=0, le=300)
    """How often each worker reloads the token digests: the bound on a revoked token's life."""
    api_token: str | None = None
    """The token clients send (frontends, Locust, scripts); `make run` writes it to `.env`."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
