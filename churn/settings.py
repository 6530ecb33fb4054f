"""One settings object for every part of the product, read from `CHURN_*` variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHURN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = REPO_ROOT / "data"
    default_data: Path = REPO_ROOT / "data" / "raw" / "telco_churn.csv"
    reports_dir: Path = REPO_ROOT / "reports"
    mlflow_tracking_uri: str = f"sqlite:///{REPO_ROOT / 'mlruns.db'}"
    mlflow_experiment: str = "telco_churn"
    prediction_db: str = f"sqlite:///{REPO_ROOT / 'data' / 'predictions.db'}"
    service_url: str = "http://127.0.0.1:3000"
    model_name: str = "telco_churn"
    bento_name: str = "churn_service"
    host: str = "127.0.0.1"
    port: int = Field(default=3000, validation_alias=AliasChoices("PORT", "CHURN_PORT"))
    flask_port: int = Field(
        default=5001, validation_alias=AliasChoices("FLASK_PORT", "CHURN_FLASK_PORT")
    )
    streamlit_port: int = Field(
        default=8501, validation_alias=AliasChoices("STREAMLIT_PORT", "CHURN_STREAMLIT_PORT")
    )
    request_timeout_s: float = 10.0
    max_batch_records: int = 1000
    drift_share_threshold: float = 0.05
    """Reference line on the dashboard; keep it equal to configs/monitoring.yaml's threshold."""
    pushgateway_url: str | None = None
    """Prometheus Pushgateway for the monitoring run's drift gauges (e.g. http://127.0.0.1:9091)."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
