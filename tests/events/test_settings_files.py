"""The events section's credentials as mounted files (`CHURN_SECRETS_DIR`), as the Kubernetes
consumer gets them (deploy/base/events): no password in the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.settings import load_settings


def test_a_section_setting_is_read_from_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("SASL_USERNAME", "SASL_PASSWORD"):
        monkeypatch.delenv(f"CHURN_KAFKA_{name}", raising=False)
    (tmp_path / "CHURN_KAFKA_SASL_USERNAME").write_text("churn-events\n")
    (tmp_path / "CHURN_KAFKA_SASL_PASSWORD").write_text("s3cret\n")
    monkeypatch.setenv("CHURN_SECRETS_DIR", str(tmp_path))
    events = load_settings(env_file=False).events
    assert events.sasl_username == "churn-events"
    assert events.sasl_password is not None
    assert events.sasl_password.get_secret_value() == "s3cret"


def test_the_environment_wins_over_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "CHURN_KAFKA_SASL_USERNAME").write_text("from-file")
    monkeypatch.setenv("CHURN_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("CHURN_KAFKA_SASL_USERNAME", "from-env")
    assert load_settings(env_file=False).events.sasl_username == "from-env"


def test_without_a_secrets_folder_nothing_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHURN_SECRETS_DIR", raising=False)
    monkeypatch.delenv("CHURN_KAFKA_SASL_PASSWORD", raising=False)
    assert load_settings(env_file=False).events.sasl_password is None
