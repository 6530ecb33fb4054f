"""The compose stack's secret files: one folder per reader, each file 0400 and that reader's own.

    python deploy/compose_secrets.py deploy/local/secrets --owner flask=10001:10001 ...

docker-compose.yml hands each file to its container as a compose secret (/run/secrets/NAME, read
through CHURN_SECRETS_DIR or the server's own `*_FILE` option): no secret is an environment
variable, so `docker inspect` shows none. What each reader gets is `reader_files`, the one list:
the database URL of its own role (migration 0013), the customer key only where IDs are keyed
(the service), the Flask session key only for Flask, the Pushgateway password only for the job.

Database passwords are made once per role and kept in DIR/roles.env (0600, the caller's); the rest
comes from the environment (FLASK_SECRET_KEY, CHURN_CUSTOMER_ID_KEY, CHURN_API_TOKEN: compose-up's
compose.env and the token it makes) and monitoring/secrets (`churn monitoring-auth`). A reader
without `--owner` gets the caller as owner (the `host` folder: compose-up's own CLI calls).
Standard library only: it runs before anything else exists.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

OWNER_ROLE = "churn"  # owns the database and the schema: the migration role
ROLES = ("churn_service", "churn_ui", "churn_monitor")
DB_HOST = "127.0.0.1:5432"
DB_NAME = "churn"
READERS = ("postgres", "migrate", "churn-service", "flask", "dashboard", "monitor", "grafana",
           "host")  # fmt: skip


def db_url(role: str, passwords: Mapping[str, str], host: str = DB_HOST) -> str:
    return f"postgresql://{role}:{passwords[role]}@{host}/{DB_NAME}"


def reader_files(
    passwords: Mapping[str, str], env: Mapping[str, str], monitoring: Path, host: str = DB_HOST
) -> dict[str, dict[str, str]]:
    """Reader -> file name -> content."""

    def db(role: str) -> str:
        return db_url(role, passwords, host)

    def kept(name: str) -> str:
        path = monitoring / f"{name}.password"
        return path.read_text().strip() if path.is_file() else ""

    token = {"CHURN_API_TOKEN": env.get("CHURN_API_TOKEN", "")}  # empty until compose-up made one
    return {
        "postgres": {role: passwords[role] for role in (OWNER_ROLE, *ROLES)},
        "migrate": {"CHURN_PREDICTION_DB": db(OWNER_ROLE)},
        "churn-service": {
            "CHURN_PREDICTION_DB": db("churn_service"),
            "CHURN_CUSTOMER_ID_KEY": env["CHURN_CUSTOMER_ID_KEY"],
        },
        "flask": {
            "CHURN_PREDICTION_DB": db("churn_ui"),
            "FLASK_SECRET_KEY": env["FLASK_SECRET_KEY"],
            **token,
        },
        "dashboard": {"CHURN_PREDICTION_DB": db("churn_ui"), **token},
        "monitor": {
            "CHURN_PREDICTION_DB": db("churn_monitor"),
            "CHURN_PUSHGATEWAY_PASSWORD": kept("pushgateway"),
        },
        "grafana": {"admin_password": kept("grafana")},
        "host": {"CHURN_PREDICTION_DB": db(OWNER_ROLE)},
    }


def role_passwords(path: Path) -> dict[str, str]:
    """Kept in `path` (0600); a role without one gets a new random password."""
    found: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            role, _, password = line.partition("=")
            if password:
                found[role] = password
    for role in (OWNER_ROLE, *ROLES):
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
        found = reader_files(passwords, os.environ, args.monitoring, args.db_host)
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
