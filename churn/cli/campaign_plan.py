"""The work behind `churn campaign` (churn/cli/campaign.py): planning with the production model,
the report, the planned customers found again in a customers file, and learning uplift."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from churn.campaigns.customers import Problems, valid_chunks
from churn.campaigns.plan import (
    CONTROL,
    TREATED,
    PlanParams,
    TopN,
    contact_list,
    expected_value,
    ranking_key,
)
from churn.campaigns.report import latest_outcomes
from churn.cli import EXIT_OK, fail
from churn.db.campaigns import Campaign
from churn.schema import ID_COLUMN
from churn.settings import get_settings


def _uplift_model(engine: sa.Engine, source: str | None) -> tuple[Any, str]:
    """The learned uplift model a `--rank uplift` plan may use, or ValueError saying why not."""
    from churn.campaigns.uplift import TwoModelUplift
    from churn.db.campaigns import get, list_all

    learned = [c for c in list_all(engine) if c.learned] if source is None else []
    chosen = get(engine, source) if source is not None else (learned[0] if learned else None)
    if chosen is None or not chosen.learned:
        what = f"campaign {source!r} has" if source else "no campaign has"
        raise ValueError(
            f"--rank uplift needs a learned campaign, and {what} none: run "
            "`churn campaign learn NAME --customers FILE` on a finished campaign first"
        )
    evidence = chosen.learned["evidence"]
    if not evidence["use_uplift"]:
        raise ValueError(
            f"--rank uplift refused: campaign {chosen.name} gave {evidence['reason']}; "
            "plan with --rank value (or risk) instead"
        )
    return TwoModelUplift.from_json(chosen.learned["model"]), chosen.name


def plan(args: argparse.Namespace, params: PlanParams, engine: sa.Engine, actor: str) -> int:
    from churn.db.campaigns import get

    if get(engine, params.name) is not None:
        return fail(f"a campaign named {params.name!r} already exists; nothing changed")
    uplift_model = None
    try:
        if params.rank == "uplift":
            uplift_model, source = _uplift_model(engine, args.uplift_from)
            print(f"ranking by the uplift model learned on campaign {source}", file=sys.stderr)
    except ValueError as exc:
        return fail(str(exc))
    from churn.control.models import card_of, load_pipeline, production_version

    name = get_settings().model_name
    production = production_version(name)
    if production is None:
        return fail("no production model yet: run `make train` first")
    pipeline, threshold = load_pipeline(production), card_of(production).threshold
    from churn.training.scoring import ScoringInputError, score

    problems, top = Problems(), TopN(params.budget)
    try:
        for chunk in valid_chunks(args.customers, problems, args.chunk_rows):
            scored = score(pipeline, chunk, threshold)
            if uplift_model is not None:
                scored["predicted_uplift"] = uplift_model.predict(scored)
            scored["expected_value"] = expected_value(scored, params)
            scored["_key"] = ranking_key(scored, params)
            keep = ["_key", ID_COLUMN, "churn_probability", "expected_value"]
            top.add(scored[keep + (["predicted_uplift"] if uplift_model else [])])
    except ScoringInputError as exc:
        return fail(f"{exc}; nothing planned")
    if problems.count:
        shown = "\n".join(f"  - {p}" for p in problems.shown)
        return fail(f"{args.customers}: {problems.count} bad row(s), nothing planned:\n{shown}")
    if params.budget > top.seen:
        return fail(
            f"--budget {params.budget} is more than the {top.seen} customers in "
            f"{args.customers}; nothing planned"
        )
    contacts = contact_list(top.result(), params)
    doubled = contacts[ID_COLUMN][contacts[ID_COLUMN].duplicated()]
    if not doubled.empty:
        return fail(
            f"{args.customers}: customerID {doubled.iloc[0]!r} appears more than once among the "
            f"top {params.budget}; nothing planned"
        )
    return _record(args, params, engine, actor, str(production.name), contacts)


def _record(
    args: argparse.Namespace,
    params: PlanParams,
    engine: sa.Engine,
    actor: str,
    version: str,
    contacts: pd.DataFrame,
) -> int:
    """The contact list written to a temporary file, the campaign recorded (one transaction with
    its audit row), then the file renamed into place: a failure leaves neither."""
    from churn.db.audit import AuditEvent
    from churn.db.campaigns import CampaignExists, create

    n_control = int((contacts["arm"] == CONTROL).sum())
    campaign = Campaign(
        name=params.name,
        started_at=dt.datetime.now(dt.UTC),
        created_by=actor,
        model_name=get_settings().model_name,
        model_version=str(version),
        rank_rule=params.rank,
        budget=params.budget,
        control_share=params.control_share,
        offer_cost=params.offer_cost,
        saved_value=params.saved_value,
        salt=params.salt,
        n_treated=len(contacts) - n_control,
        n_control=n_control,
        source_file=Path(args.customers).name[:255],
    )
    reason = (
        f"campaign {params.name}: top {params.budget} by {params.rank} of {args.customers}, "
        f"{campaign.n_treated} treated, {n_control} control (share {params.control_share}), "
        f"C={params.offer_cost:g}, V={params.saved_value:g}"
    )
    event = AuditEvent("campaign_plan", "cli", actor, campaign.model_name, None, version, reason)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    contacts.to_csv(partial, index=False)
    try:
        create(engine, campaign, contacts, event)
    except CampaignExists as exc:
        partial.unlink(missing_ok=True)
        return fail(f"{exc}; nothing changed")
    except sa.exc.SQLAlchemyError as exc:
        partial.unlink(missing_ok=True)
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return fail(f"could not record campaign {params.name} ({first}); nothing changed")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    print(
        f"planned campaign {params.name} with model version {version}: {campaign.n_treated} to "
        f"contact, {n_control} held out as control -> {out}",
        file=sys.stderr,
    )
    return EXIT_OK


def planned_customers(engine: sa.Engine, campaign: Campaign, path: Path) -> pd.DataFrame:
    """The campaign's customers found again in `path`: features, the plain `customerID`, `arm`,
    `churn_probability` and the keyed `key`; ValueError when the file misses some."""
    from churn.db.campaigns import read_assignments
    from churn.privacy import customer_key
    from churn.training.scoring import ScoringInputError

    wanted = read_assignments(engine, campaign).rename(columns={ID_COLUMN: "key"})
    secret = get_settings().customer_id_key
    found = []
    problems = Problems()
    try:
        for chunk in valid_chunks(path, problems):
            chunk["key"] = [customer_key(c, secret) for c in chunk[ID_COLUMN]]
            found.append(chunk.merge(wanted, on="key", how="inner"))
    except ScoringInputError as exc:
        raise ValueError(str(exc)) from None
    planned = pd.concat(found, ignore_index=True).drop_duplicates("key")
    if len(planned) < len(wanted):
        raise ValueError(
            f"{path}: {len(wanted) - len(planned)} of campaign {campaign.name}'s "
            f"{len(wanted)} customers are not in the file (or their rows are invalid)"
        )
    return planned.sort_values("rank").reset_index(drop=True)


def learn_from(
    engine: sa.Engine, campaign: Campaign, path: Path, seed: int, actor: str
) -> dict[str, Any]:
    """Fit the two-model learner on the campaign's outcomes, store it with its evidence."""
    from churn.campaigns.uplift import learn
    from churn.db.audit import AuditEvent
    from churn.db.campaigns import update
    from churn.db.outcomes import read

    planned = planned_customers(engine, campaign, path)
    keyed = planned.drop(columns=[ID_COLUMN]).rename(columns={"key": ID_COLUMN})
    joined = latest_outcomes(
        keyed, read(engine, since=campaign.started_at), campaign.started_at
    ).dropna(subset=["churned"])
    for arm in (TREATED, CONTROL):
        if not (joined["arm"] == arm).any():
            raise ValueError(f"campaign {campaign.name}: no outcome yet in the {arm} arm")
    model, evidence = learn(joined.assign(churned=joined["churned"].astype(bool)), seed=seed)
    result = evidence.as_json()
    event = AuditEvent(
        "campaign_learn", "cli", actor, campaign.model_name, None, campaign.model_version,
        f"campaign {campaign.name}: uplift model learned; {evidence.reason}",
    )  # fmt: skip
    learned = {
        "learned_at": dt.datetime.now(dt.UTC).isoformat(),
        "evidence": result,
        "model": model.as_json(),
    }
    update(engine, campaign.name, event, learned=learned)
    return result
