"""`churn monitoring-auth [DIR]`: the basic-auth secrets of Prometheus, Alertmanager, Pushgateway.

Writes the `--web.config.file` of each (a bcrypt hash), the passwords Prometheus reads as a client
and the token it scrapes the service's /metrics with (churn/monitoring/web_auth.py). Prints where
each came from, never a secret.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from churn.cli import EXIT_OK, EXIT_USAGE, fail
from churn.paths import REPO_ROOT

DEFAULT_DIR = REPO_ROOT / "monitoring" / "secrets"


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "monitoring-auth",
        help="write the basic-auth web configs and passwords of Prometheus, Alertmanager and "
        "the Pushgateway",
        description="Passwords come from CHURN_PROMETHEUS_PASSWORD, CHURN_ALERTMANAGER_PASSWORD, "
        "CHURN_PUSHGATEWAY_PASSWORD and GRAFANA_ADMIN_PASSWORD (Grafana's admin), else the ones "
        "already in DIR, else new random ones; the scrape token from CHURN_METRICS_TOKEN, else "
        "CHURN_API_TOKEN. Default DIR: monitoring/secrets.",
    )
    cmd.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR, metavar="DIR")
    cmd.add_argument("--user", default=None, help="the basic-auth user name (default: churn)")
    cmd.add_argument("--rounds", type=int, default=None, help="bcrypt cost (default: 10)")
    cmd.add_argument(
        "--owner",
        default=None,
        metavar="UID:GID",
        help="for bind mounts into containers running as another user (docker-compose.yml): "
        "mode 400 files in a 500 folder that this user owns (needs root); the default is 600 "
        "files in a 700 folder of the caller's",
    )
    cmd.set_defaults(func=cmd_monitoring_auth)


def cmd_monitoring_auth(args: argparse.Namespace) -> int:
    from churn.monitoring.web_auth import (
        DEFAULT_ROUNDS,
        DEFAULT_USER,
        WebAuthError,
        write_secrets,
    )

    if args.dir.exists() and not args.dir.is_dir():
        return fail(f"DIR {args.dir} exists and is not a folder", EXIT_USAGE)
    owner = None
    if args.owner is not None:
        uid, _, gid = args.owner.partition(":")
        if not (uid.isdigit() and gid.isdigit()):
            return fail(f"--owner must be UID:GID (numbers), got {args.owner!r}", EXIT_USAGE)
        owner = (int(uid), int(gid))
    try:
        sources = write_secrets(
            args.dir,
            os.environ,
            user=args.user if args.user is not None else DEFAULT_USER,
            rounds=args.rounds if args.rounds is not None else DEFAULT_ROUNDS,
            owner=owner,
        )
    except WebAuthError as exc:
        return fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        return fail(f"cannot write {args.dir}: {exc}")
    for name, source in sources.items():
        print(f"{name}: {source}")
    print(f"written to {args.dir}")
    return EXIT_OK
