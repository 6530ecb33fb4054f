"""`churn experiment start|status|stop`: shadow and A/B experiments in the running services.

The experiment lives in the serving state (churn/db/serving_state.py), written with its audit row
in one transaction; every service worker picks it up within `CHURN_MODEL_POLL_S`. ZenML, MLflow
and BentoML are imported inside the handlers only (see churn/cli/__init__.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from churn.cli import EXIT_USAGE, command_group, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = command_group(
        subparsers,
        "experiment",
        "shadow / A/B experiments of a challenger in the running services",
        metavar="SUBCOMMAND",
    )
    start = sub.add_parser("start", help="start scoring a challenger version beside production")
    start.add_argument("--challenger", required=True, help="ZenML model version name (e.g. 2)")
    start.add_argument("--mode", required=True, choices=("shadow", "ab"))
    start.add_argument(
        "--share", type=float, help="A/B only: share of customers for the challenger (0, 0.5]"
    )
    start.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    start.add_argument("--actor", help="who (default: the OS user)")
    start.set_defaults(func=cmd_start)

    status = sub.add_parser("status", help="the experiment and its per-arm figures as JSON")
    status.set_defaults(func=cmd_status)

    stop = sub.add_parser("stop", help="stop the experiment: production answers everything")
    stop.add_argument("--reason", default="experiment stopped by hand", help="why (audit)")
    stop.add_argument("--actor", help="who (default: the OS user)")
    stop.set_defaults(func=cmd_stop)


def _who(args: argparse.Namespace) -> str | int:
    """The actor of `start` and `stop` (default: the OS user); the usage exit code, after the
    error, when --actor or --reason is given empty."""
    from churn.db.audit import default_actor

    if args.actor is not None and not args.actor.strip():
        return fail("--actor must not be empty", EXIT_USAGE)
    if not args.reason.strip():
        return fail("--reason must not be empty", EXIT_USAGE)
    return (args.actor or default_actor()).strip()


def _production_state(model_name: str) -> Any:
    """The serving state, or one made from ZenML's production version when there is none yet."""
    from churn.control.registry import bento_tag_of, production_version
    from churn.db import serving_state

    state = serving_state.read(model_name)
    if state is not None:
        return state
    production = production_version(model_name)
    if production is None:
        return None
    tag, _ = bento_tag_of(production)
    return serving_state.ServingState(model_name, tag, str(production.name))


def cmd_start(args: argparse.Namespace) -> int:
    from churn.experiment import ExperimentError, validate

    actor = _who(args)
    if isinstance(actor, int):
        return actor
    from churn.control.registry import (
        RollbackError,
        bento_tag_of,
        delete_from_model_store,
        get_version,
    )
    from churn.db import serving_state
    from churn.db.audit import AuditEvent
    from churn.settings import get_settings

    model_name = get_settings().model_name
    current = _production_state(model_name)
    try:
        plan = validate(
            args.mode,
            args.challenger,
            current.production_version if current is not None else None,
            args.share,
        )
    except ExperimentError as exc:
        return fail(str(exc), EXIT_USAGE)
    if current.experiment != "none":
        return fail(
            f"a {current.experiment} experiment with version {current.challenger_version} is "
            "running: `churn experiment stop` it first"
        )
    target = get_version(model_name, plan.challenger_version)
    if target is None:
        return fail(f"model {model_name!r} has no version {plan.challenger_version!r}")
    try:
        tag, saved = bento_tag_of(target)
    except RollbackError as exc:
        return fail(str(exc))
    when = dt.datetime.now(dt.UTC)
    state = serving_state.ServingState(
        model_name,
        current.production_tag,
        current.production_version,
        plan.mode,
        tag,
        plan.challenger_version,
        plan.share,
        plan.salt,
        when,
        actor,
    )
    event = AuditEvent(
        action="experiment_start",
        source="cli",
        actor=actor,
        model_name=model_name,
        from_version=current.production_version,
        to_version=plan.challenger_version,
        reason=f"{plan.mode} (share {plan.share:g}): {args.reason.strip()}",
        created_at=when,
    )
    try:
        serving_state.change(state, model_name, event)
    except Exception as exc:
        if saved:
            delete_from_model_store(tag)
        return fail(f"the experiment did not start: {type(exc).__name__}: {exc}")
    print(json.dumps(state.as_dict(), indent=2))
    return 0


def experiment_status(model_name: str | None = None) -> dict[str, Any]:
    """The serving state, per-arm counts since the experiment started, shadow agreement, and
    per-arm realized metrics once outcomes exist."""
    from churn.db import serving_state
    from churn.experiment import agreement
    from churn.settings import get_settings

    model_name = model_name or get_settings().model_name
    engine = serving_state.engine_for()
    try:
        from churn.db import ready

        ready(engine)
        with engine.connect() as conn:
            state = serving_state.read_with(conn, model_name)
            since = state.started_at if state is not None else None
            out: dict[str, Any] = {
                "model": model_name,
                "state": state.as_dict() if state is not None else None,
                "arms": serving_state.arm_counts(conn, since),
            }
            if state is not None and state.experiment == "shadow":
                out["agreement"] = agreement(serving_state.shadow_pairs(conn, since))
        out["realized"] = _realized(engine, since)
    finally:
        engine.dispose()
    return out


REALIZED_LOOKBACK = dt.timedelta(days=90)


def _realized(engine: Any, since: dt.datetime | None) -> list[dict[str, Any]]:
    """Per (version, arm) realized metrics with bootstrap intervals, from the outcomes that came
    back for predictions made since the experiment started; [] while there are none."""
    from churn.db import outcomes
    from churn.monitoring.realized import join_outcomes, read_predictions, realized_metrics
    from churn.schema import ID_COLUMN

    start = since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    observed = outcomes.read(engine, since=start)
    if observed.empty:
        return []
    url = str(engine.url.render_as_string(hide_password=False))
    predictions = read_predictions(url, start, customers=observed[ID_COLUMN])
    joined = join_outcomes(predictions, observed, REALIZED_LOOKBACK)
    return [m.as_dict() for m in realized_metrics(joined)]


def cmd_status(args: argparse.Namespace) -> int:
    print(json.dumps(experiment_status(), indent=2, default=str))
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    actor = _who(args)
    if isinstance(actor, int):
        return actor
    from churn.db import serving_state
    from churn.db.audit import AuditEvent
    from churn.settings import get_settings

    model_name = get_settings().model_name
    current = serving_state.read(model_name)
    if current is None or current.experiment == "none":
        return fail("no experiment is running")
    stopped = current.with_production(current.production_tag, current.production_version)
    serving_state.change(
        stopped,
        model_name,
        AuditEvent(
            action="experiment_stop",
            source="cli",
            actor=actor,
            model_name=model_name,
            from_version=current.challenger_version,
            to_version=current.production_version,
            reason=args.reason.strip(),
        ),
    )
    print(json.dumps({"stopped": current.as_dict(), "state": stopped.as_dict()}, indent=2))
    return 0
