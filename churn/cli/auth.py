"""`churn auth token create|list|revoke`: the service's API tokens (churn/db/tokens.py), with an
optional lifetime (`--expires-in 30d`)."""

from __future__ import annotations

import argparse
import json
import sys

from churn.cli import EXIT_USAGE, command_group, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    groups = command_group(
        subparsers, "auth", "API tokens of the prediction service", metavar="COMMAND"
    )
    actions = command_group(groups, "token", "create, list or revoke service tokens")

    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("name", help="a name for the token: who or what uses it")
    create.add_argument("--scope", choices=("predict", "admin"), default="predict")
    create.add_argument("--actor", help="who creates it (default: the OS user)")
    create.add_argument(
        "--expires-in", metavar="DURATION", help="e.g. 90m, 12h or 30d (default: never)"
    )
    create.set_defaults(func=cmd_create)

    listing = actions.add_parser("list", help="names, scopes and dates (never the tokens)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    listing.set_defaults(func=cmd_list)

    revoke = actions.add_parser("revoke", help="revoke the active token with this name")
    revoke.add_argument("name")
    revoke.add_argument("--actor", help="who revokes it (default: the OS user)")
    revoke.set_defaults(func=cmd_revoke)


def cmd_create(args: argparse.Namespace) -> int:
    from churn.auth import TokenError, parse_lifetime
    from churn.db.tokens import TokenExists, create

    try:
        lifetime = parse_lifetime(args.expires_in) if args.expires_in else None
        token = create(args.name, args.scope, actor=args.actor, lifetime=lifetime)
    except TokenError as exc:
        return fail(str(exc), EXIT_USAGE)
    except TokenExists as exc:
        return fail(str(exc))
    print(token)
    until = f", expires in {args.expires_in}" if lifetime else ""
    print(
        f"token {args.name!r} (scope {args.scope}{until}) created; it is shown only this once",
        file=sys.stderr,
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from churn.db.tokens import list_tokens

    tokens = list_tokens(include_revoked=args.all)
    if args.json:
        rows = [
            {
                "name": t.name,
                "scope": t.scope,
                "created_at": t.created_at.isoformat(),
                "created_by": t.created_by,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                "expires_at": t.expires_at.isoformat() if t.expires_at else None,
            }
            for t in tokens
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not tokens:
        print("no API token yet: churn auth token create NAME --scope predict|admin")
        return 0
    header = ("name", "scope", "created (UTC)", "by", "revoked (UTC)", "expires (UTC)")
    table = [
        (
            t.name,
            t.scope,
            t.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            t.created_by,
            t.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if t.revoked_at else "-",
            t.expires_at.strftime("%Y-%m-%d %H:%M:%S") if t.expires_at else "-",
        )
        for t in tokens
    ]
    widths = [max(len(r[i]) for r in (header, *table)) for i in range(len(header))]
    for row in (header, *table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from churn.db.tokens import TokenNotFound, revoke

    try:
        revoke(args.name, actor=args.actor)
    except TokenNotFound as exc:
        return fail(str(exc))
    print(f"token {args.name!r} revoked; services stop accepting it within their refresh interval")
    return 0
