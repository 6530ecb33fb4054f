"""Least privilege in the running compose stack (part of tests/containers/compose_chain.py).

Once the stack is healthy: PostgreSQL refuses the superuser and a password-less login over TCP,
the UI's role cannot insert a token (the database itself says no), Redis refuses a client without
its password and a dangerous command with it, the edge serves no
/api/metrics and adds its security headers, every secret file is 0600 or stricter, and no
container's environment (what `docker inspect` shows) holds a password, token or key.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

SECRET_VARIABLE = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$|PREDICTION_DB")
NOT_SECRET = re.compile(r"_DIR$|_FILE$|^GPG_KEY$")  # folders, file names, a distro's key id


def _login_refused(url: str) -> str:
    """The server's refusal of `url`, or '' when it let the login in."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect():
            return ""
    except sa.exc.OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


def _token_insert_refused(ui_url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(ui_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO api_tokens (name, token_hash, scope, created_at, created_by) "
                    "VALUES ('minted', 'x', 'admin', now(), 'attacker')"
                )
            )
        return ""
    except sa.exc.ProgrammingError as exc:
        return str(getattr(exc.orig, "pgcode", "")) + " " + str(exc.orig).splitlines()[0]
    finally:
        engine.dispose()


def _loose_files(*roots: Path) -> list[str]:
    loose = []
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                if name == ".gitignore":  # the repository's own (monitoring/secrets/), no secret
                    continue
                mode = stat.S_IMODE((Path(folder) / name).stat().st_mode)
                if mode & 0o077:
                    loose.append(f"{Path(folder) / name} {oct(mode)}")
    return loose


def _secret_variables(chain: Any) -> list[str]:
    ids = chain.compose("ps", "-q", timeout_s=60).split()
    proc = subprocess.run(
        ["docker", "inspect", *ids], capture_output=True, text=True, timeout=60, check=True
    )
    found = []
    for container in json.loads(proc.stdout):
        for pair in container["Config"]["Env"] or []:
            name, _, value = pair.partition("=")
            if value and SECRET_VARIABLE.search(name) and not NOT_SECRET.search(name):
                found.append(f"{container['Name']}: {name}")
    return found


def _redis_answer(url: str, *command: str) -> str:
    """Redis' answer to `command` over `url`, or the error it refused it with."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return str(client.execute_command(*command))
    except redis.exceptions.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()


def check_redis(chain: Any, out: Any) -> None:
    """The online store signs nobody in without the password, and not even the service's
    password runs a dangerous command (its ACL file, deploy/compose_secrets.py)."""
    port = chain.ports["redis"]
    anonymous = _redis_answer(f"redis://127.0.0.1:{port}/0", "GET", "x")
    out.check(
        "Redis refuses a client without the password",
        "Authentication" in anonymous or "NOAUTH" in anonymous,
        anonymous,
    )
    url = (chain.secrets / "churn-service" / "CHURN_FEATURE_ONLINE_STORE").read_text().strip()
    flush = _redis_answer(url, "FLUSHALL")
    ping = _redis_answer(url, "PING")
    out.check(
        "with the service's password Redis answers, and refuses FLUSHALL (no dangerous command)",
        ping == "True" and "NoPermission" in flush,
        f"PING {ping}; FLUSHALL {flush}",
    )


def check_privilege(chain: Any, out: Any) -> None:
    import requests

    port = chain.ports["postgres"]
    superuser = _login_refused(f"postgresql://postgres@127.0.0.1:{port}/churn")
    out.check(
        "PostgreSQL refuses the superuser over TCP",
        bool(superuser) and "reject" in superuser,
        superuser or "let in",
    )
    nopassword = _login_refused(f"postgresql://churn@127.0.0.1:{port}/churn")
    out.check(
        "PostgreSQL refuses a login without a password (scram-sha-256)",
        bool(nopassword) and "password" in nopassword,
        nopassword or "let in",
    )
    ui_url = (chain.secrets / "flask" / "CHURN_PREDICTION_DB").read_text()
    refused = _token_insert_refused(ui_url)
    out.check(
        "the UIs' role cannot insert an API token (the database refuses: 42501)",
        refused.startswith("42501"),
        refused or "inserted",
    )
    check_redis(chain, out)
    ca = str(chain.certs / "ca.crt")
    base = chain.edge_url()
    metrics = requests.get(f"{base}/api/metrics", verify=ca, timeout=10)
    out.check(
        "the edge serves no /api/metrics", metrics.status_code == 404, f"HTTP {metrics.status_code}"
    )
    page = requests.get(f"{base}/login", verify=ca, timeout=10)
    names = ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "Cache-Control")
    headers = {k: page.headers.get(k, "") for k in names}
    out.check(
        "the edge adds CSP, X-Frame-Options, Referrer-Policy and Cache-Control: no-store",
        "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        and headers["X-Frame-Options"] == "DENY"
        and headers["Referrer-Policy"] == "same-origin"
        and headers["Cache-Control"] == "no-store",
        str(headers),
    )
    loose = _loose_files(chain.secrets, chain.monitoring_secrets, chain.first_admin_file.parent)
    out.check("every secret file is 0600 or stricter", not loose, "; ".join(loose) or "all")
    variables = _secret_variables(chain)
    out.check(
        "no container's environment holds a secret (docker inspect)",
        not variables,
        "; ".join(variables) or "none",
    )
