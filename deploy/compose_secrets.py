"""The compose stack's secret files: one folder per reader, each file 0400 and that reader's own.

    python deploy/compose_secrets.py deploy/local/secrets --owner flask=10001:10001 ...

docker-compose.yml hands each file to its container as a compose secret (/run/secrets/NAME, read
through CHURN_SECRETS_DIR or the server's own `*_FILE` option): no secret is an environment
variable, so `docker inspect` shows none. What each reader gets is `reader_files`, the one list:
the database URL of its own role (migration 0013), the customer key only where IDs are keyed
(the service), the Flask session key only for Flask, the Pushgateway password only for the job,
the feature store's Redis and database URLs only for the service (and compose-up's own CLI calls),
Redis' ACL file for Redis, the OpenID client secret only for the two UIs.

Database passwords are made once per role and kept in DIR/roles.env (0600, the caller's); the rest
comes from the environment (FLASK_SECRET_KEY, CHURN_CUSTOMER_ID_KEY, CHURN_API_TOKEN: compose-up's
compose.env and the token it makes) and monitoring/secrets (`churn monitoring-auth`). A reader
without `--owner` gets the caller as owner (the `host` folder: compose-up's own CLI calls).
Standard library only: it runs before anything else exists.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

OWNER_ROLE = "churn"  # owns the database and the schema: the migration role
ROLES = ("churn_service", "churn_ui", "churn_monitor")
FEATURE_ROLE = "churn_features"  # owns the feature database (Feast's offline store and registry)
REDIS = "redis"  # the online store's password, kept in roles.env beside the roles'
DB_HOST = "127.0.0.1:5432"
DB_NAME = "churn"
REDIS_HOST = "127.0.0.1:6379"
READERS = ("postgres", "redis", "migrate", "churn-service", "flask", "dashboard", "monitor",
           "grafana", "host")  # fmt: skip
OIDC_SECRET = "CHURN_OIDC_CLIENT_SECRET"
"""The provider's client secret (#34): read from the file CHURN_OIDC_CLIENT_SECRET_FILE names on
the host, handed to Flask and the dashboard only; absent, both sign in with local accounts."""


def db_url(role: str, passwords: Mapping[str, str], host: str = DB_HOST) -> str:
    return f"postgresql://{role}:{passwords[role]}@{host}/{DB_NAME}"


def redis_acl(password: str) -> str:
    """Redis' ACL file: the default user (Feast signs in with a password only) by the SHA-256 of
    its password, every key, no dangerous command (FLUSHALL, CONFIG, DEBUG, KEYS...)."""
    digest = hashlib.sha256(password.encode()).hexdigest()
    return f"user default on #{digest} ~* &* +@all -@dangerous\n"


def feature_files(passwords: Mapping[str, str], host: str, redis_host: str) -> dict[str, str]:
    """The feature store's three settings (churn.feature_store.config): Redis online, the feature
    database as offline store and registry."""
    # its own database of its own name; loopback in one host network: no TLS (Feast's default
    # sslmode is `require`)
    url = f"postgresql://{FEATURE_ROLE}:{passwords[FEATURE_ROLE]}@{host}/{FEATURE_ROLE}?sslmode=disable"
    return {
        "CHURN_FEATURE_ONLINE_STORE": f"redis://:{passwords[REDIS]}@{redis_host}/0",
        "CHURN_FEATURE_OFFLINE_STORE": url,
        "CHURN_FEATURE_REGISTRY": url,
    }


def reader_files(
    passwords: Mapping[str, str],
    env: Mapping[str, str],
    monitoring: Path,
    host: str = DB_HOST,
    redis_host: str = REDIS_HOST,
) -> dict[str, dict[str, str]]:
    """Reader -> file name -> content."""

    def db(role: str) -> str:
        return db_url(role, passwords, host)

    def kept(name: str) -> str:
        path = monitoring / f"{name}.password"
        return path.read_text().strip() if path.is_file() else ""

    token = {"CHURN_API_TOKEN": env.get("CHURN_API_TOKEN", "")}  # empty until compose-up made one
    features = feature_files(passwords, host, redis_host)
    # always a file (compose names it); empty without a provider
    oidc = {OIDC_SECRET: env.get(OIDC_SECRET, "")}
    return {
        "postgres": {role: passwords[role] for role in (OWNER_ROLE, *ROLES, FEATURE_ROLE)},
        "redis": {"users.acl": redis_acl(passwords[REDIS]), "password": passwords[REDIS]},
        "migrate": {"CHURN_PREDICTION_DB": db(OWNER_ROLE)},
        "churn-service": {
            "CHURN_PREDICTION_DB": db("churn_service"),
            "CHURN_CUSTOMER_ID_KEY": env["CHURN_CUSTOMER_ID_KEY"],
            # by-ID scoring reads the online store; the registry names the views
            "CHURN_FEATURE_ONLINE_STORE": features["CHURN_FEATURE_ONLINE_STORE"],
            "CHURN_FEATURE_REGISTRY": features["CHURN_FEATURE_REGISTRY"],
        },
        "flask": {
            "CHURN_PREDICTION_DB": db("churn_ui"),
            "FLASK_SECRET_KEY": env["FLASK_SECRET_KEY"],
            **token,
            **oidc,
        },
        "dashboard": {"CHURN_PREDICTION_DB": db("churn_ui"), **token, **oidc},
        "monitor": {
            "CHURN_PREDICTION_DB": db("churn_monitor"),
            "CHURN_PUSHGATEWAY_PASSWORD": kept("pushgateway"),
        },
        "grafana": {"admin_password": kept("grafana"), "prometheus_password": kept("prometheus")},
        # compose-up's own CLI calls: migrations' owner, and ingest/materialize into the stack
        "host": {"CHURN_PREDICTION_DB": db(OWNER_ROLE), **features},
    }


def oidc_secret(env: Mapping[str, str]) -> dict[str, str]:
    """The client secret from the file CHURN_OIDC_CLIENT_SECRET_FILE names (none when unset)."""
    path = env.get(f"{OIDC_SECRET}_FILE")
    if not path:
        return {}
    return {OIDC_SECRET: Path(path).read_text(encoding="utf-8").strip()}


def role_passwords(path: Path) -> dict[str, str]:
    """Kept in `path` (0600); a role without one gets a new random password."""
    found: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            role, _, password = line.partition("=")
            if password:
                found[role] = password
    for role in (OWNER_ROLE, *ROLES, FEATURE_ROLE, REDIS):
        found.setdefault(role, secrets.token_urlsafe(32))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{role}={password}\n" for role, password in sorted(found.items()))
    os.chmod(path, 0o600)
    return found


def write_reader(folder: Path, files: Mapping[str, str], owner: tuple[int, int] | None) -> None:
    """`folder` 0500 and its files 0400, all `owner`'s; the files are replaced whole."""
    folder.mkdir(exist_ok=True)
    os.chmod(folder, 0o700)
    for name in {p.name for p in folder.iterdir()} - set(files):
        (folder / name).unlink()
    for name, text in files.items():
        partial = folder / f".{name}.tmp"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        if owner is not None:
            os.chown(partial, *owner)
        partial.replace(folder / name)
    if owner is not None:
        os.chown(folder, *owner)
    os.chmod(folder, 0o500)


def parse_owner(text: str) -> tuple[str, tuple[int, int]]:
    reader, _, ids = text.partition("=")
    uid, _, gid = ids.partition(":")
    if reader not in READERS or not (uid.isdigit() and gid.isdigit()):
        raise argparse.ArgumentTypeError(f"--owner READER=UID:GID, READER one of {READERS}")
    return reader, (int(uid), int(gid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--owner", type=parse_owner, action="append", default=[])
    parser.add_argument("--monitoring", type=Path, default=Path("monitoring/secrets"))
    parser.add_argument("--db-host", default=DB_HOST, help=f"HOST:PORT (default {DB_HOST})")
    parser.add_argument("--redis-host", default=REDIS_HOST, help=f"default {REDIS_HOST}")
    args = parser.parse_args(argv)
    missing = [v for v in ("FLASK_SECRET_KEY", "CHURN_CUSTOMER_ID_KEY") if not os.environ.get(v)]
    if missing:
        print(f"compose_secrets: set {' and '.join(missing)}", file=sys.stderr)
        return 2
    args.dir.mkdir(parents=True, exist_ok=True)
    os.chmod(args.dir, 0o700)  # the engine (root) bind-mounts the files; nobody lists them
    passwords = role_passwords(args.dir / "roles.env")
    owners = dict(args.owner)
    try:
        env = {**os.environ, **oidc_secret(os.environ)}
        found = reader_files(passwords, env, args.monitoring, args.db_host, args.redis_host)
        for reader, files in found.items():
            write_reader(args.dir / reader, files, owners.get(reader))
    except PermissionError as exc:
        print(f"compose_secrets: cannot hand {exc.filename} to its reader: {exc.strerror} "
              "(run as root, as compose-up's engine does)", file=sys.stderr)  # fmt: skip
        return 1
    print(f"compose_secrets: {len(READERS)} readers' secrets in {args.dir} (0400, their own)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
