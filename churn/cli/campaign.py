"""`churn campaign plan|report|list|close|simulate|learn|power|holdout|contacts`: retention
campaigns with a control group (the last three in churn/cli/campaign_design.py).

The production model is loaded (through `churn.control.models`, like `churn predict`) inside
`plan` only; the other commands read the project database and need no framework.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from churn.cli import EXIT_OK, EXIT_USAGE, add_db_argument, command_group, fail

DEFAULT_CONFIG = Path("configs/training.yaml")


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = command_group(
        subparsers,
        "campaign",
        "retention campaigns: who to contact, a control group, what was saved",
    )

    from churn.cli.features import add_ids_arguments

    plan = sub.add_parser(
        "plan",
        help="score customers, take the top N, hold out a control group, record the campaign",
        description="Nothing is recorded or written when any argument or row is bad.",
    )
    plan.add_argument("name", help="campaign name (unique; letters, digits, . _ -)")
    plan.add_argument("--customers", type=Path, help="customers CSV (Telco schema)")
    add_ids_arguments(plan, "--customers")
    plan.add_argument("--budget", type=int, required=True, help="N: customers in the campaign")
    plan.add_argument(
        "--control-share", type=float, default=0.1, help="share of the N held out (0, 0.5]"
    )
    plan.add_argument("--offer-cost", type=float, help="C per contact (default: training config)")
    plan.add_argument(
        "--saved-value", type=float, help="V per customer kept (default: training config)"
    )
    plan.add_argument(
        "--rank", default="value", help="value (p*V - C, default), risk (p) or uplift"
    )
    plan.add_argument(
        "--uplift-from", help="with --rank uplift: the learned campaign (default: the newest)"
    )
    plan.add_argument(
        "--horizon-days",
        type=int,
        default=30,
        help="the outcome window: outcomes observed after start + this are not counted (30)",
    )
    plan.add_argument(
        "--min-detectable",
        type=float,
        help="the uplift the offer is expected to have: refuse a plan that cannot detect it",
    )
    plan.add_argument("--out", type=Path, required=True, help="the ranked contact list (CSV)")
    plan.add_argument("--actor", help="who (audit trail; default: the OS user)")
    plan.add_argument("--chunk-rows", type=int, default=50_000, help=argparse.SUPPRESS)
    add_db_argument(plan)
    plan.set_defaults(func=cmd_plan)

    report = sub.add_parser("report", help="per arm churn, uplift, customers saved, net value")
    report.add_argument("name")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    add_db_argument(report)
    report.set_defaults(func=cmd_report)

    listing = sub.add_parser("list", help="the campaigns, newest first")
    listing.add_argument("--json", action="store_true")
    add_db_argument(listing)
    listing.set_defaults(func=cmd_list)

    close = sub.add_parser("close", help="end a campaign: its treated count in realized metrics")
    close.add_argument("name")
    close.add_argument("--actor", help="who (audit trail; default: the OS user)")
    add_db_argument(close)
    close.set_defaults(func=cmd_close)

    sim = sub.add_parser(
        "simulate",
        help="simulated outcomes of a campaign with a known treatment effect (demo, tests)",
    )
    sim.add_argument("name")
    sim.add_argument("--customers", type=Path, required=True, help="the customers file planned")
    sim.add_argument("--out", type=Path, required=True, help="outcomes CSV for outcomes import")
    sim.add_argument("--effect", type=float, default=0.0, help="relative drop in churn (default)")
    sim.add_argument(
        "--segment-effect",
        action="append",
        default=[],
        metavar="COLUMN=VALUE:EFFECT",
        help="the effect in one segment, e.g. InternetService=DSL:0.8 (repeatable)",
    )
    sim.add_argument("--seed", type=int, default=0)
    add_db_argument(sim)
    sim.set_defaults(func=cmd_simulate)

    learn = sub.add_parser(
        "learn", help="fit an uplift model on a campaign's outcomes; does it beat risk ranking?"
    )
    learn.add_argument("name")
    learn.add_argument("--customers", type=Path, required=True, help="the customers file planned")
    learn.add_argument("--seed", type=int, default=0)
    learn.add_argument("--json", action="store_true")
    learn.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier learning of this campaign (recorded in the audit log)",
    )
    learn.add_argument("--actor", help="who (audit trail; default: the OS user)")
    add_db_argument(learn)
    learn.set_defaults(func=cmd_learn)

    from churn.cli.campaign_design import register_design

    register_design(sub)


def _engine(args: argparse.Namespace) -> Any:
    from churn.db.campaigns import engine_for

    return engine_for(args.db)


def _actor(args: argparse.Namespace) -> str | None:
    from churn.db.audit import default_actor

    actor = default_actor() if args.actor is None else args.actor.strip()
    return actor or None


def _defaults() -> tuple[float, float]:
    from churn.settings import REPO_ROOT
    from churn.training.config import load_run_config

    params = load_run_config(REPO_ROOT / DEFAULT_CONFIG).parameters
    return params.offer_cost, params.saved_customer_value


def _campaign_or_fail(engine: Any, name: str) -> Any:
    from churn.db.campaigns import get

    campaign = get(engine, name)
    if campaign is None:
        raise LookupError(f"no campaign named {name!r} (see `churn campaign list`)")
    return campaign


def cmd_plan(args: argparse.Namespace) -> int:
    from churn.campaigns.plan import CampaignError, validate_params

    cost, value = _defaults()
    try:
        params = validate_params(
            args.name, args.budget, args.control_share,
            cost if args.offer_cost is None else args.offer_cost,
            value if args.saved_value is None else args.saved_value, args.rank,
            horizon_days=args.horizon_days, min_detectable=args.min_detectable,
        )  # fmt: skip
    except CampaignError as exc:
        return fail(str(exc), EXIT_USAGE)
    if (actor := _actor(args)) is None:
        return fail("--actor must not be empty", EXIT_USAGE)
    if (args.customers is None) == (args.ids is None):
        return fail("give either --customers FILE or --ids FILE", EXIT_USAGE)
    if args.as_of is not None and args.ids is None:
        return fail("--as-of goes with --ids", EXIT_USAGE)
    source = args.customers or args.ids
    if not source.is_file():
        return fail(f"no such file: {source}", EXIT_USAGE)
    if args.ids is not None:
        from churn.cli.features import timestamp

        try:
            args.as_of = timestamp(args.as_of) if args.as_of else dt.datetime.now(dt.UTC)
        except argparse.ArgumentTypeError as exc:
            return fail(f"--as-of: {exc}", EXIT_USAGE)
    if args.chunk_rows < 1:
        return fail(f"--chunk-rows must be at least 1, got {args.chunk_rows}", EXIT_USAGE)
    from churn.cli.campaign_plan import plan

    engine = _engine(args)
    try:
        return plan(args, params, engine, actor)
    finally:
        engine.dispose()


def cmd_report(args: argparse.Namespace) -> int:
    from churn.campaigns.report import report_of

    engine = _engine(args)
    try:
        campaign = _campaign_or_fail(engine, args.name)
        report, _ = report_of(engine, campaign)
    except LookupError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    out = {"campaign": campaign.as_json(), **report.as_json()}
    out.pop("name")
    if args.json:
        print(json.dumps(out, default=str))
        return EXIT_OK
    from churn.cli.campaign_text import report_text

    print(report_text(campaign, out))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from churn.db.campaigns import list_all

    engine = _engine(args)
    try:
        rows = [c.as_json() for c in list_all(engine)]
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(rows, default=str))
    elif not rows:
        print("no campaign yet: churn campaign plan NAME --customers FILE --budget N --out FILE")
    for row in [] if args.json else rows:
        state = "open" if row["closed_at"] is None else "closed"
        print(
            f"{row['name']:24s} {row['started_at'][:16]} {state:6s} rank={row['rank_rule']:6s} "
            f"horizon={row['horizon_days'] or '-'}d "
            f"treated={row['n_treated']} control={row['n_control']} model={row['model_version']}"
        )
    return EXIT_OK


def cmd_close(args: argparse.Namespace) -> int:
    from churn.db.audit import AuditEvent
    from churn.db.campaigns import update

    if (actor := _actor(args)) is None:
        return fail("--actor must not be empty", EXIT_USAGE)
    engine = _engine(args)
    try:
        campaign = _campaign_or_fail(engine, args.name)
        if not campaign.is_open:
            return fail(f"campaign {args.name!r} is already closed ({campaign.closed_at})")
        event = AuditEvent(
            "campaign_close", "cli", actor, campaign.model_name, None, campaign.model_version,
            f"campaign {campaign.name} closed",
        )  # fmt: skip
        update(engine, campaign.name, event, closed_at=dt.datetime.now(dt.UTC))
    except LookupError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    print(f"closed campaign {args.name}", file=sys.stderr)
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from churn.campaigns.plan import CampaignError
    from churn.campaigns.simulate import parse_effects, simulate

    try:
        spec = parse_effects(args.effect, args.segment_effect)
    except CampaignError as exc:
        return fail(str(exc), EXIT_USAGE)
    if not args.customers.is_file():
        return fail(f"no such file: {args.customers}", EXIT_USAGE)
    from churn.cli.campaign_plan import planned_customers

    engine = _engine(args)
    try:
        campaign = _campaign_or_fail(engine, args.name)
        planned = planned_customers(engine, campaign, args.customers)
    except (LookupError, ValueError) as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    sim = simulate(planned, spec, args.seed, campaign.started_at, dt.datetime.now(dt.UTC))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sim.outcomes.to_csv(args.out, index=False)
    print(f"simulated {len(sim.outcomes)} outcome(s) -> {args.out}", file=sys.stderr)
    print(
        json.dumps(
            {
                "campaign": campaign.name,
                "outcomes": len(sim.outcomes),
                "true_uplift": round(sim.true_uplift, 6),
                "true_customers_saved": round(sim.true_customers_saved, 3),
                "out": str(args.out),
            }
        )
    )
    return EXIT_OK


def cmd_learn(args: argparse.Namespace) -> int:
    if (actor := _actor(args)) is None:
        return fail("--actor must not be empty", EXIT_USAGE)
    if not args.customers.is_file():
        return fail(f"no such file: {args.customers}", EXIT_USAGE)
    from churn.cli.campaign_plan import learn_from

    engine = _engine(args)
    try:
        campaign = _campaign_or_fail(engine, args.name)
        evidence = learn_from(engine, campaign, args.customers, args.seed, actor, args.force)
    except (LookupError, ValueError) as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(evidence, default=str))
    else:
        print(f"campaign {campaign.name}: {evidence['reason']}")
        verdict = "may" if evidence["use_uplift"] else "may not"
        print(f"the next plan {verdict} use --rank uplift --uplift-from {campaign.name}")
    return EXIT_OK
