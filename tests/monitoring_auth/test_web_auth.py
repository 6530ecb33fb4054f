"""The basic-auth generator (churn/monitoring/web_auth.py, `churn monitoring-auth`) and the
Pushgateway credentials of the one Settings class: pure rules, and the command as typed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
import yaml

from churn.monitoring.web_auth import SERVERS, WebAuthError, web_config, write_secrets
from churn.settings import SettingsError, load_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_web_config_holds_a_bcrypt_hash_of_the_password() -> None:
    users = yaml.safe_load(web_config({"churn": "s3cret-pw"}, rounds=4))["basic_auth_users"]
    hashed = users["churn"].encode()
    assert hashed.startswith(b"$2b$04$")
    assert bcrypt.checkpw(b"s3cret-pw", hashed)
    assert not bcrypt.checkpw(b"s3cret-px", hashed)
    assert "s3cret" not in web_config({"churn": "s3cret-pw"}, rounds=4)


@pytest.mark.parametrize(
    ("users", "rounds", "named"),
    [
        ({"churn": ""}, 10, "password of 'churn' is empty"),
        ({"churn": " pw"}, 10, "blanks or a line break"),
        ({"churn": "x" * 73}, 10, "72 bytes"),
        ({"a:b": "pw"}, 10, "user name 'a:b'"),
        ({"churn": "pw"}, 3, "--rounds"),
    ],
)
def test_bad_users_passwords_and_costs_are_named(
    users: dict[str, str], rounds: int, named: str
) -> None:
    with pytest.raises(WebAuthError, match=named):
        web_config(users, rounds)


def test_write_secrets_takes_env_keeps_existing_and_locks_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    env = {"CHURN_PUSHGATEWAY_PASSWORD": "push-pw", "CHURN_API_TOKEN": "tok-api"}
    first = write_secrets(folder, env, rounds=4)
    assert first == {
        "grafana": "generated",
        "prometheus": "generated",
        "alertmanager": "generated",
        "pushgateway": "CHURN_PUSHGATEWAY_PASSWORD",
        "token": "CHURN_API_TOKEN",
    }
    assert (folder / "pushgateway.password").read_text() == "push-pw"
    assert (folder / "metrics.token").read_text() == "tok-api"
    assert mode(folder) == 0o700
    assert {mode(p) for p in folder.iterdir()} == {0o600}
    generated = (folder / "prometheus.password").read_text()
    assert len(generated) >= 32

    again = write_secrets(
        folder, {"CHURN_METRICS_TOKEN": "tok-m"}, rounds=4, owner=(os.getuid(), os.getgid())
    )
    assert again["prometheus"] == again["pushgateway"] == again["grafana"] == "kept"
    assert again["token"] == "CHURN_METRICS_TOKEN"
    assert (folder / "prometheus.password").read_text() == generated
    for server in SERVERS:
        hashed = yaml.safe_load((folder / f"{server}.web.yml").read_text())["basic_auth_users"]
        password = (folder / f"{server}.password").read_text().encode()
        assert bcrypt.checkpw(password, hashed["churn"].encode())
    assert mode(folder) == 0o500  # only the reader, and only reading
    assert {mode(p) for p in folder.iterdir()} == {0o400}
    assert not list(folder.glob("*.tmp"))
    folder.chmod(0o700)  # pytest's clean-up, when not root


def test_the_command_as_typed(tmp_path: Path) -> None:
    """Secrets are never printed; a bad password is one line naming the variable, exit 2, and
    nothing is written."""
    folder = tmp_path / "secrets"
    env = {**os.environ, "CHURN_ALERTMANAGER_PASSWORD": "am-pw-1234"}
    churn = [sys.executable, "-m", "churn.cli", "monitoring-auth", str(folder), "--rounds", "4"]
    ok = subprocess.run(churn, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "alertmanager: CHURN_ALERTMANAGER_PASSWORD" in ok.stdout
    assert "prometheus: generated" in ok.stdout
    for secret in ("am-pw-1234", (folder / "prometheus.password").read_text()):
        assert secret not in ok.stdout + ok.stderr
    before = {p.name: p.read_text() for p in folder.iterdir()}

    env["CHURN_PUSHGATEWAY_PASSWORD"] = "two\nlines"
    bad = subprocess.run(churn, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: CHURN_PUSHGATEWAY_PASSWORD has surrounding blanks or a line break"
    ]
    assert {p.name: p.read_text() for p in folder.iterdir()} == before


@pytest.mark.parametrize(
    "env",
    [{"CHURN_PUSHGATEWAY_USER": "churn"}, {"CHURN_PUSHGATEWAY_PASSWORD": "hidden-pw"}],
)
def test_pushgateway_user_and_password_come_together(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "CHURN_PUSHGATEWAY_USER and CHURN_PUSHGATEWAY_PASSWORD together" in message
    assert "hidden-pw" not in message


def test_pushgateway_credentials_when_both_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().pushgateway_auth() is None
    monkeypatch.setenv("CHURN_PUSHGATEWAY_USER", "churn")
    monkeypatch.setenv("CHURN_PUSHGATEWAY_PASSWORD", "pw-9")
    settings = load_settings()
    assert settings.pushgateway_auth() == ("churn", "pw-9")
    assert "pw-9" not in repr(settings)
