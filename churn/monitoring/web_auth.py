"""Basic-auth secrets for Prometheus, Alertmanager and the Pushgateway (`--web.config.file`).

Each server's web config holds only a bcrypt hash of its password: the server compares against
the hash, so the file can be mounted where the password itself should not be. The plain password
sits where a client needs it: beside the web config for Prometheus's scrape and alerting configs
(`password_file: secrets/<server>.password` in monitoring/prometheus.yml) and in
`CHURN_PUSHGATEWAY_PASSWORD` for the monitoring job. `churn monitoring-auth` writes them all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import yaml

SERVERS = ("prometheus", "alertmanager", "pushgateway")
"""The servers locked with `--web.config.file`."""
PASSWORD_VARIABLES = {
    "prometheus": "CHURN_PROMETHEUS_PASSWORD",
    "alertmanager": "CHURN_ALERTMANAGER_PASSWORD",
    "pushgateway": "CHURN_PUSHGATEWAY_PASSWORD",
    "grafana": "GRAFANA_ADMIN_PASSWORD",
}
"""Where each password may come from; Grafana's admin has one too (no web config: Grafana checks
it itself), so docker-compose.yml's required GRAFANA_ADMIN_PASSWORD can be read from the folder."""
DEFAULT_USER = "churn"
DEFAULT_ROUNDS = 10
"""bcrypt cost: every authenticated request pays it on the server (about 50 ms at 10 here)."""
TOKEN_FILE = "metrics.token"
MAX_PASSWORD_BYTES = 72  # bcrypt ignores what follows


class WebAuthError(ValueError):
    """A user name, password or cost the servers cannot use; the message names it."""


def check_secret(what: str, value: str) -> str:
    if not value:
        raise WebAuthError(f"{what} is empty")
    if value != value.strip() or any(c in value for c in "\r\n"):
        raise WebAuthError(f"{what} has surrounding blanks or a line break")
    if len(value.encode()) > MAX_PASSWORD_BYTES:
        raise WebAuthError(f"{what} is longer than {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)")
    return value


def web_config(users: Mapping[str, str], rounds: int = DEFAULT_ROUNDS) -> str:
    """The `--web.config.file` YAML: `basic_auth_users` with a bcrypt hash per user."""
    import bcrypt  # only here: hashing is the one thing that needs it

    if not 4 <= rounds <= 16:
        raise WebAuthError(f"--rounds must be between 4 and 16, got {rounds}")
    if not users:
        raise WebAuthError("no user to write")
    hashed = {}
    for user, password in users.items():
        if not user or ":" in user or user != user.strip():
            raise WebAuthError(f"user name {user!r} is empty or has ':' or blanks")
        check_secret(f"the password of {user!r}", password)
        hashed[user] = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    return yaml.safe_dump({"basic_auth_users": hashed}, sort_keys=True)


def _write(path: Path, text: str, mode: int) -> None:
    """Replace `path` whole (a reader never sees half a file), created with `mode`."""
    partial = path.with_name(path.name + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(partial, mode)
    partial.replace(path)


def write_secrets(
    folder: Path,
    env: Mapping[str, str],
    user: str = DEFAULT_USER,
    rounds: int = DEFAULT_ROUNDS,
    owner: tuple[int, int] | None = None,
) -> dict[str, str]:
    """`folder/<server>.web.yml` and `<server>.password` for each server, `grafana.password` and
    `metrics.token`.

    A password comes from its variable (PASSWORD_VARIABLES) in `env`, else the one already in the
    folder (re-running keeps the credentials), else a new random one. The token Prometheus scrapes
    the service's /metrics with (CHURN_METRICS_AUTH=on) is `CHURN_METRICS_TOKEN`, else
    `CHURN_API_TOKEN`, else the kept one (empty when none: an open /metrics ignores it). Every
    value is checked before anything is written. The files are 0600 in a 0700 folder, or, with
    `owner` (uid, gid: the containers' user, for compose's bind mounts), 0400 in a 0500 folder
    that user owns: only the reader reads them. Returns where each came from, never a secret."""
    chosen: dict[str, tuple[str, str]] = {}
    for server, variable in PASSWORD_VARIABLES.items():
        kept = folder / f"{server}.password"
        if env.get(variable):
            chosen[server] = (check_secret(variable, env[variable]), variable)
        elif kept.is_file() and kept.read_text().strip():
            chosen[server] = (check_secret(str(kept), kept.read_text().strip()), "kept")
        else:
            chosen[server] = (secrets.token_urlsafe(24), "generated")
    token_path = folder / TOKEN_FILE
    token_source = next((v for v in ("CHURN_METRICS_TOKEN", "CHURN_API_TOKEN") if env.get(v)), "")
    if token_source:
        token = check_secret(token_source, env[token_source])
    else:
        token = token_path.read_text().strip() if token_path.is_file() else ""
        token_source = "kept" if token else "none"
    configs = {server: web_config({user: chosen[server][0]}, rounds) for server in SERVERS}

    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    mode = 0o600 if owner is None else 0o400
    written = [folder / f"{server}.password" for server in chosen]
    for path, (password, _) in zip(written, chosen.values(), strict=True):
        _write(path, password, mode)
    for server, config in configs.items():
        written.append(folder / f"{server}.web.yml")
        _write(written[-1], config, mode)
    _write(token_path, token, mode)
    if owner is not None:
        for path in (*written, token_path, folder):
            os.chown(path, *owner)
        os.chmod(folder, 0o500)
    return {**{server: source for server, (_, source) in chosen.items()}, "token": token_source}
