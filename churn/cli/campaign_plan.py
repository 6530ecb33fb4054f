"""The work behind `churn campaign` (churn/cli/campaign.py): planning with the production model,
the report, the planned customers found again in a customers file, and learning uplift."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from churn.campaigns.customers import MAX_SHOWN, Problems, valid_chunks
from churn.campaigns.plan import (
    CONTROL,
    TREATED,
    PlanParams,
    Power,
    TopN,
    contact_list,
    expected_value,
    power_of,
    ranking_key,
)
from churn.cli import EXIT_OK, fail
from churn.db.campaigns import Campaign
from churn.schema import ID_COLUMN
from churn.settings import get_settings


def _uplift_model(engine: sa.Engine, source: str | None) -> tuple[Any, str, float]:
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
    covered = chosen.learned.get("covered", {}).get("min_churn_probability")
    if covered is None:
        raise ValueError(
            f"--rank uplift refused: campaign {chosen.name}'s learning does not record the "
            "population its evidence covers; re-learn it with `churn campaign learn --force`"
        )
    return TwoModelUplift.from_json(chosen.learned["model"]), chosen.name, float(covered)


class Eligibility:
    """Who a new plan may take: not in the arms of a running campaign (the plan leaves them out
    and says which campaign holds them), not in the global hold-out, and, for an uplift plan,
    within the population the uplift evidence covers. Duplicate IDs anywhere in the file are
    refused (a customer has one row)."""

    def __init__(self, engine: sa.Engine, covered_min_probability: float | None) -> None:
        from churn.db.campaigns import get_holdout, running_assignments

        self.held = running_assignments(engine, dt.datetime.now(dt.UTC))
        self.holdout = get_holdout(engine)
        self.covered = covered_min_probability
        self.by_campaign: dict[str, int] = {}
        self.in_holdout = self.outside_evidence = 0
        self._seen = np.array([], dtype=np.uint64)
        self._secret = get_settings().customer_id_key

    def check_duplicates(self, chunk: pd.DataFrame) -> str | None:
        ids = chunk[ID_COLUMN].astype(str)
        hashed = pd.util.hash_array(ids.to_numpy(dtype=object))
        doubled = ids.duplicated().to_numpy() | np.isin(hashed, self._seen)
        if doubled.any():
            return str(ids[doubled].iloc[0])
        self._seen = np.union1d(self._seen, hashed)
        return None

    def keep(self, scored: pd.DataFrame) -> pd.DataFrame:
        from churn.campaigns.plan import in_holdout
        from churn.privacy import customer_key

        mask = np.ones(len(scored), dtype=bool)
        if self.holdout is not None:
            held_out = in_holdout(scored[ID_COLUMN], self.holdout.salt, self.holdout.share)
            self.in_holdout += int(held_out.sum())
            mask &= ~held_out
        if self.held:
            owners = [
                self.held.get(str(customer_key(str(c), self._secret))) for c in scored[ID_COLUMN]
            ]
            for i, owner in enumerate(owners):
                if owner is not None and mask[i]:
                    self.by_campaign[owner] = self.by_campaign.get(owner, 0) + 1
                    mask[i] = False
        if self.covered is not None:
            outside = scored["churn_probability"].to_numpy(dtype=float) < self.covered - 1e-6
            self.outside_evidence += int((outside & mask).sum())
            mask &= ~outside
        return scored[mask]

    def summary(self) -> str | None:
        parts = [
            f"{n} held by running campaign {name}" for name, n in sorted(self.by_campaign.items())
        ]
        if self.in_holdout:
            parts.append(f"{self.in_holdout} in the global hold-out")
        if self.outside_evidence:
            parts.append(
                f"{self.outside_evidence} below churn probability {self.covered:.3f}, outside "
                "the population the uplift evidence covers"
            )
        return "left out of the plan: " + "; ".join(parts) if parts else None


class Unknown:
    """IDs of an `--ids` plan the offline store does not know at `--as-of`: the count, the first
    few (the plan refuses them as it refuses a bad row)."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[str] = []

    def add(self, ids: list[str]) -> None:
        self.count += len(ids)
        self.shown += ids[: max(MAX_SHOWN - len(self.shown), 0)]


def _source(args: argparse.Namespace) -> Path:
    """The file the plan reads: the customers, or the IDs (`--ids`)."""
    return Path(args.customers if args.ids is None else args.ids)


def _chunks(
    args: argparse.Namespace, problems: Problems, unknown: Unknown
) -> Iterator[pd.DataFrame]:
    """The customers to score, a chunk at a time, as `valid_chunks` gives a file's: from the
    customers file, or for `--ids` each block of IDs' records as of `--as-of` from the offline
    store (`churn.feature_store.predict.known_blocks`, the reads of `churn predict --ids`)."""
    if args.ids is None:
        yield from valid_chunks(args.customers, problems, args.chunk_rows)
        return
    from churn.feature_store.predict import known_blocks

    for _, rows, missing in known_blocks(args.ids, args.as_of, get_settings(), args.chunk_rows):
        unknown.add(missing)
        yield rows


def plan(args: argparse.Namespace, params: PlanParams, engine: sa.Engine, actor: str) -> int:
    from churn.db.campaigns import get

    if get(engine, params.name) is not None:
        return fail(f"a campaign named {params.name!r} already exists; nothing changed")
    uplift_model, covered = None, None
    try:
        if params.rank == "uplift":
            uplift_model, source, covered = _uplift_model(engine, args.uplift_from)
            print(f"ranking by the uplift model learned on campaign {source}", file=sys.stderr)
    except ValueError as exc:
        return fail(str(exc))
    from churn.control.models import card_of, load_pipeline, production_version

    name = get_settings().model_name
    production = production_version(name)
    if production is None:
        return fail("no production model yet: run `make train` first")
    pipeline, threshold = load_pipeline(production), card_of(production).threshold
    from churn.batch.files import BatchInputError
    from churn.feature_store.offline import NoFeatures
    from churn.training.scoring import ScoringInputError, score

    problems, top = Problems(), TopN(params.budget)
    eligible = Eligibility(engine, covered)
    origin, unknown = _source(args), Unknown()
    try:
        for chunk in _chunks(args, problems, unknown):
            doubled = eligible.check_duplicates(chunk)
            if doubled is not None:
                return fail(
                    f"{origin}: customerID {doubled!r} appears more than once; nothing planned"
                )
            scored = eligible.keep(score(pipeline, chunk, threshold))
            if uplift_model is not None:
                scored["predicted_uplift"] = uplift_model.predict(scored)
            scored["expected_value"] = expected_value(scored, params)
            scored["_key"] = ranking_key(scored, params)
            keep = ["_key", ID_COLUMN, "churn_probability", "expected_value", "Contract", "tenure"]
            top.add(scored[keep + (["predicted_uplift"] if uplift_model else [])])
    except (ScoringInputError, BatchInputError, NoFeatures) as exc:
        return fail(f"{exc}; nothing planned")
    if problems.count:
        shown = "\n".join(f"  - {p}" for p in problems.shown)
        return fail(f"{origin}: {problems.count} bad row(s), nothing planned:\n{shown}")
    if unknown.count:
        return fail(
            f"{origin}: {unknown.count} customer ID(s) unknown to the feature store as of "
            f"{args.as_of:%Y-%m-%dT%H:%M:%SZ}, nothing planned: {', '.join(unknown.shown)}"
        )
    left_out = eligible.summary()
    available = len(top.result())
    if params.budget > available:
        return fail(
            f"--budget {params.budget} is more than the {available} customers of "
            f"{origin} a plan may take"
            + (f" ({left_out})" if left_out else "") + "; nothing planned"
        )  # fmt: skip
    contacts = contact_list(top.result(), params)
    power = power_of(contacts, params)
    if power.refuse:
        return fail(f"{power.message}; nothing planned")
    if left_out is not None:
        print(left_out, file=sys.stderr)
    print(power.message, file=sys.stderr)
    return _record(args, params, engine, actor, str(production.name), contacts, power)


def _record(
    args: argparse.Namespace,
    params: PlanParams,
    engine: sa.Engine,
    actor: str,
    version: str,
    contacts: pd.DataFrame,
    power: Power,
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
        source_file=_source(args).name[:255],
        horizon_days=params.horizon_days,
        baseline_churn=power.baseline,
        min_detectable_uplift=power.min_detectable,
    )
    reason = (
        f"campaign {params.name}: top {params.budget} by {params.rank} of {_source(args)}, "
        f"{campaign.n_treated} treated, {n_control} control (share {params.control_share}), "
        f"C={params.offer_cost:g}, V={params.saved_value:g}, horizon {params.horizon_days} "
        f"day(s), minimum detectable uplift {power.min_detectable:.4f}"
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
    engine: sa.Engine, campaign: Campaign, path: Path, seed: int, actor: str, force: bool = False
) -> dict[str, Any]:
    """Fit the two-model learner on the campaign's outcomes in its window, store it with its
    evidence and the population it covers. Once per campaign: trying seeds until one passes
    would make the evidence meaningless, so a re-run needs `force` and says so in the audit."""
    from churn.campaigns.uplift import learn
    from churn.campaigns.window import window_of, window_outcomes
    from churn.db.audit import AuditEvent
    from churn.db.campaigns import update
    from churn.db.outcomes import read

    if campaign.learned and not force:
        raise ValueError(
            f"campaign {campaign.name} was learned on {campaign.learned['learned_at'][:16]} "
            f"(seed {campaign.learned.get('seed', '?')}); a re-run refuses, since trying seeds "
            "until one passes is not evidence (--force replaces it, recorded in the audit log)"
        )
    planned = planned_customers(engine, campaign, path)
    keyed = planned.drop(columns=[ID_COLUMN]).rename(columns={"key": ID_COLUMN})
    window = window_of(campaign.started_at, campaign.horizon_days, campaign.closed_at)
    joined = window_outcomes(keyed, read(engine, since=campaign.started_at), window)
    joined = joined.dropna(subset=["churned"])
    for arm in (TREATED, CONTROL):
        if not (joined["arm"] == arm).any():
            raise ValueError(f"campaign {campaign.name}: no outcome yet in the {arm} arm")
    model, evidence = learn(joined.assign(churned=joined["churned"].astype(bool)), seed=seed)
    result = evidence.as_json()
    replaced = (
        f"; FORCED re-learn replacing the learning of {campaign.learned['learned_at'][:16]}"
        if campaign.learned else ""
    )  # fmt: skip
    event = AuditEvent(
        "campaign_learn", "cli", actor, campaign.model_name, None, campaign.model_version,
        f"campaign {campaign.name}: uplift model learned (seed {seed}); "
        f"{evidence.reason}{replaced}",
    )  # fmt: skip
    learned = {
        "learned_at": dt.datetime.now(dt.UTC).isoformat(),
        "seed": seed,
        "forced": bool(replaced),
        "evidence": result,
        "model": model.as_json(),
        # the evidence is about the campaign's planned customers: an uplift plan ranks only
        # customers at least as risky as the least risky of them
        "covered": {"min_churn_probability": float(planned["churn_probability"].min())},
    }
    update(engine, campaign.name, event, learned=learned)
    return result
