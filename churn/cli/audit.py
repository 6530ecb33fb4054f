"""`churn audit`: the audit trail of promotions and rollbacks, newest first (churn/db/audit.py)."""

from __future__ import annotations

import argparse
import json

from churn.cli import EXIT_USAGE, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser(
        "audit", help="who promoted or rolled back which model version, when and why"
    )
    audit.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    audit.add_argument("--limit", type=int, default=50, help="how many events (newest first)")
    audit.add_argument(
        "--action",
        action="append",
        metavar="ACTION",
        help="only this action (promote, rollback, switch, ...); repeat for several",
    )
    audit.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    if args.limit < 1:
        return fail(f"--limit must be at least 1, got {args.limit}", EXIT_USAGE)
    from churn.db.audit import check_actions, recent

    try:  # the audit's own list of actions, checked before any query
        check_actions(args.action or ())
    except ValueError as exc:
        return fail(str(exc), EXIT_USAGE)
    events = recent(args.limit, actions=args.action)
    if args.json:
        print(json.dumps([e.as_dict() for e in events], indent=2))
        return 0
    if not events:
        print("nothing recorded yet" if not args.action else "no such event recorded yet")
        return 0
    header = ("time (UTC)", "action", "source", "actor", "from", "to", "reason")
    rows = [
        (
            e.created_at.strftime("%Y-%m-%d %H:%M:%S") if e.created_at else "-",
            e.action,
            e.source,
            e.actor,
            e.from_version or "-",
            e.to_version,
            e.reason.replace("\n", " "),
        )
        for e in events
    ]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, str(row[-1])]))
    return 0
