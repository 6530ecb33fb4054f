"""`churn campaign power|holdout|contacts`: planning a campaign's size before it exists, the
global hold-out kept out of every campaign, and who of a campaign was actually reached."""

from __future__ import annotations

import argparse
import json
import math
import secrets
import sys
from pathlib import Path
from typing import Any

from churn.cli import EXIT_OK, EXIT_USAGE, add_db_argument, command_group, fail


def register_design(sub: argparse._SubParsersAction) -> None:
    power = sub.add_parser(
        "power",
        help="the smallest uplift a plan detects (80%% power, 5%% level), or the budget needed",
    )
    power.add_argument("--budget", type=int, required=True, help="N: customers in the campaign")
    power.add_argument("--control-share", type=float, default=0.1)
    power.add_argument(
        "--baseline", type=float, required=True,
        help="the control arm's expected churn rate (e.g. the top N's mean churn probability)",
    )  # fmt: skip
    power.add_argument("--min-detectable", type=float, help="also: the budget that detects this")
    power.add_argument("--json", action="store_true")
    power.set_defaults(func=cmd_power)

    holdout = sub.add_parser(
        "holdout", help="the global hold-out: a share of customers kept out of every campaign"
    )
    holdout.add_argument(
        "--share", type=float,
        help="set the share in [0, 0.5] (0 ends it); without it: show the hold-out in force",
    )  # fmt: skip
    holdout.add_argument("--actor", help="who (audit trail; default: the OS user)")
    add_db_argument(holdout)
    holdout.set_defaults(func=cmd_holdout)

    contacts = command_group(sub, "contacts", "who of a campaign's treated arm was reached")
    imp = contacts.add_parser("import", help="import a CSV of customerID, contacted_at")
    imp.add_argument("file", type=Path)
    imp.add_argument("--campaign", required=True, help="the campaign the contacts belong to")
    imp.add_argument("--actor", help="who (audit trail; default: the OS user)")
    add_db_argument(imp)
    imp.set_defaults(func=cmd_contacts_import)


def _share(value: float, flag: str, high: float) -> str | None:
    if not math.isfinite(value) or not 0 <= value <= high:
        return f"{flag} must be in [0, {high}], got {value}"
    return None


def cmd_power(args: argparse.Namespace) -> int:
    from churn.campaigns.stats import budget_for, min_detectable

    if args.budget < 2:
        return fail(f"--budget must be at least 2, got {args.budget}", EXIT_USAGE)
    for flag, value, high in (("--control-share", args.control_share, 0.5),
                              ("--baseline", args.baseline, 1.0)):  # fmt: skip
        if (problem := _share(value, flag, high)) is not None:
            return fail(problem, EXIT_USAGE)
    if args.control_share == 0:
        return fail("--control-share must be above 0 (no control, no uplift)", EXIT_USAGE)
    if args.min_detectable is not None and not 0 < args.min_detectable < 1:
        return fail(f"--min-detectable must be in (0, 1), got {args.min_detectable}", EXIT_USAGE)
    n_control = round(args.budget * args.control_share)
    mde = min_detectable(args.budget - n_control, n_control, args.baseline)
    if mde is None:
        return fail(
            f"--budget {args.budget} x --control-share {args.control_share} leaves an arm empty",
            EXIT_USAGE,
        )
    out = {"budget": args.budget, "n_treated": args.budget - n_control, "n_control": n_control,
           "baseline": args.baseline, "min_detectable_uplift": round(mde, 6),
           "power": 0.8, "alpha": 0.05}  # fmt: skip
    if args.min_detectable is not None:
        out["budget_for_min_detectable"] = budget_for(
            args.min_detectable, args.control_share, args.baseline
        )
    if args.json:
        print(json.dumps(out))
        return EXIT_OK
    print(
        f"{out['n_treated']} treated, {n_control} control, control churn {args.baseline:g}: the "
        f"smallest uplift detected with 80% power at the 5% level is {mde:.4f}"
    )
    if args.min_detectable is not None:
        print(
            f"to detect {args.min_detectable:g} at this share: a budget of at least "
            f"{out['budget_for_min_detectable']}"
        )
    return EXIT_OK


def _engine(args: argparse.Namespace) -> Any:
    from churn.db.campaigns import engine_for

    return engine_for(args.db)


def _actor(args: argparse.Namespace) -> str | None:
    from churn.db.audit import default_actor

    actor = default_actor() if args.actor is None else args.actor.strip()
    return actor or None


def cmd_holdout(args: argparse.Namespace) -> int:
    from churn.db.audit import AuditEvent
    from churn.db.campaigns import get_holdout, set_holdout
    from churn.settings import get_settings

    if args.share is not None and (problem := _share(args.share, "--share", 0.5)):
        return fail(problem, EXIT_USAGE)
    if (actor := _actor(args)) is None:
        return fail("--actor must not be empty", EXIT_USAGE)
    engine = _engine(args)
    try:
        if args.share is not None:
            reason = (
                f"global hold-out set to {args.share:g} of customers"
                if args.share else "global hold-out ended"
            )  # fmt: skip
            event = AuditEvent(
                "campaign_holdout", "cli", actor, get_settings().model_name, None, "-", reason
            )
            set_holdout(engine, args.share, secrets.token_hex(16), actor, event)
            print(reason, file=sys.stderr)
        held = get_holdout(engine)
    finally:
        engine.dispose()
    print(
        "no global hold-out" if held is None
        else f"global hold-out: {held.share:g} of customers, kept out of every campaign since "
        f"{held.created_at:%Y-%m-%d %H:%M} UTC (set by {held.created_by})"
    )  # fmt: skip
    return EXIT_OK


def cmd_contacts_import(args: argparse.Namespace) -> int:
    from churn.campaigns.contacts import read_contacts
    from churn.campaigns.plan import CampaignError
    from churn.campaigns.window import window_of
    from churn.db.audit import AuditEvent
    from churn.db.campaigns import get, read_assignments, store_contacts
    from churn.privacy import customer_key
    from churn.settings import get_settings

    if (actor := _actor(args)) is None:
        return fail("--actor must not be empty", EXIT_USAGE)
    if not args.file.is_file():
        return fail(f"no such file: {args.file}", EXIT_USAGE)
    engine = _engine(args)
    try:
        campaign = get(engine, args.campaign)
        if campaign is None:
            return fail(f"no campaign named {args.campaign!r} (see `churn campaign list`)")
        arms = dict(read_assignments(engine, campaign)[["customerID", "arm"]].itertuples(False))
        secret = get_settings().customer_id_key
        window = window_of(campaign.started_at, campaign.horizon_days, campaign.closed_at)
        try:
            rows = read_contacts(
                args.file, lambda c: arms.get(customer_key(c, secret)), window.start, window.end
            )
        except CampaignError as exc:
            return fail(str(exc))
        event = AuditEvent(
            "campaign_contacts", "cli", actor, campaign.model_name, None, campaign.model_version,
            f"campaign {campaign.name}: contacts imported from {args.file.name}",
        )  # fmt: skip
        keyed = [(str(customer_key(c, secret)), when) for c, when in rows]
        new, known = store_contacts(engine, campaign, keyed, event)
    finally:
        engine.dispose()
    print(
        f"campaign {args.campaign}: {new} contact(s) recorded, {known} already known",
        file=sys.stderr,
    )
    return EXIT_OK
