"""`make run`'s local token: create an admin API token once and keep it in a git-ignored `.env`.

When `.env` already names `CHURN_API_TOKEN` nothing happens (the token in it stays valid until
someone revokes it). Otherwise a token named `local-<user>` is created in the project database
(`CHURN_PREDICTION_DB`, where the service reads tokens) and appended to `.env`, which is made mode
600 because it now holds a secret. The frontends, Locust and the docs' curl examples read it.

Usage: python scripts/ensure_local_token.py [--env-file .env]
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

KEY = "CHURN_API_TOKEN"


def has_token(env_file: Path) -> bool:
    if not env_file.exists():
        return False
    for line in env_file.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name.strip().removeprefix("export ").strip() == KEY and value.strip():
            return True
    return False


def write_token(env_file: Path, token: str) -> None:
    """Append `CHURN_API_TOKEN=...` with the file at mode 600 before the secret is written."""
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        if env_file.stat().st_size and not env_file.read_bytes().endswith(b"\n"):
            fh.write("\n")
        fh.write(f"{KEY}={token}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=Path(".env"))
    args = parser.parse_args(argv)
    if has_token(args.env_file):
        print(f">> {args.env_file} already has {KEY}; keeping it")
        return 0
    from churn.db.audit import default_actor
    from churn.db.tokens import create

    name = f"local-{default_actor()}-{uuid.uuid4().hex[:6]}"[:64]
    token = create(name, "admin", actor=default_actor())  # CHURN_PREDICTION_DB, env or .env
    write_token(args.env_file, token)
    print(f">> created admin API token {name!r}; {KEY} written to {args.env_file} (mode 600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
