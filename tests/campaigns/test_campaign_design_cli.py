"""Campaigns that coexist and a design fixed at plan time, as a user types them, on the session's
production model and the test database: two plans on the same customers never share a customer;
the global hold-out; the power figure and `--min-detectable`; duplicate IDs anywhere in the
file; `--saved-value 0`; an empty control arm; contacts and the effect of being reached; late,
missing and pre-contact outcomes; and `learn` held to its evidence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from churn.cli import main
from churn.db.campaigns import engine_for, get
from churn.db.outcomes import store
from churn.db.tables import campaigns
from churn.outcomes import Outcome
from tests.fixtures.db_faults import count_rows
from tests.fixtures.training import TrainedModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _plan(capsys, db, customers, name, out, *extra):  # type: ignore[no-untyped-def]
    return _run(
        capsys, "campaign", "plan", name, "--customers", customers, "--out", str(out),
        "--actor", "ana", *extra, *db,
    )  # fmt: skip


def test_two_running_campaigns_never_share_a_customer_and_the_holdout_is_kept_out(
    trained_model: TrainedModel,
    migrated_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers, db = str(trained_model.data_path), ("--db", migrated_db_url)
    code, _, err = _run(capsys, "campaign", "holdout", "--share", "0.05", "--actor", "ana", *db)
    assert code == 0 and "global hold-out set to 0.05" in err
    code, out, _ = _run(capsys, "campaign", "holdout", *db)
    assert "global hold-out: 0.05 of customers" in out
    code, _, err = _plan(capsys, db, customers, "a", tmp_path / "a.csv", "--budget", "1000")
    assert code == 0, err
    assert "in the global hold-out" in err
    assert "the smallest uplift this plan detects with 80% power (5% level) is" in err
    code, _, err = _plan(capsys, db, customers, "b", tmp_path / "b.csv", "--budget", "1000")
    assert code == 0, err
    assert "left out of the plan: 1000 held by running campaign a" in err
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert not set(a["customerID"]) & set(b["customerID"])  # no customer in both
    # the same model's top of the list went to a; b took the next customers
    assert b["churn_probability"].max() <= a["churn_probability"].min() + 1e-6
    # a hold-out customer is in neither plan, and in no future one
    from churn.campaigns.plan import in_holdout
    from churn.db.campaigns import get_holdout

    engine = engine_for(migrated_db_url)
    try:
        held = get_holdout(engine)
        assert held is not None
        everyone = pd.read_csv(customers, usecols=["customerID"])["customerID"]
        kept_out = set(everyone[in_holdout(everyone, held.salt, held.share)])
        assert 0.03 < len(kept_out) / len(everyone) < 0.07
        assert not kept_out & (set(a["customerID"]) | set(b["customerID"]))
        campaign = get(engine, "a")
        assert campaign is not None and campaign.horizon_days == 30
        assert campaign.min_detectable_uplift is not None and campaign.baseline_churn is not None
    finally:
        engine.dispose()
    # once a is closed its customers may be planned again
    assert _run(capsys, "campaign", "close", "a", *db)[0] == 0
    code, _, err = _plan(capsys, db, customers, "c", tmp_path / "c.csv", "--budget", "1000")
    assert code == 0 and "held by running campaign b" in err and "campaign a" not in err
    assert set(pd.read_csv(tmp_path / "c.csv")["customerID"]) & set(a["customerID"])
    assert count_rows(
        migrated_db_url, "select count(*) from audit_log where action = 'campaign_holdout'"
    )


def test_the_design_is_checked_at_plan_time(
    trained_model: TrainedModel,
    migrated_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers, db = str(trained_model.data_path), ("--db", migrated_db_url)
    out = tmp_path / "x.csv"
    raw = pd.read_csv(customers, dtype=str, keep_default_na=False)
    doubled = tmp_path / "doubled.csv"  # the last row repeats the first: far outside any top N
    pd.concat([raw, raw.head(1)]).to_csv(doubled, index=False)
    first_id = raw["customerID"].iloc[0]
    cases = [
        (("--budget", "4000", "--control-share", "0.1", "--min-detectable", "0.02"), 1,
         "the plan cannot detect it (a budget of"),
        (("--budget", "20", "--control-share", "0.02"), 1, "the control arm would be empty"),
        (("--budget", "10", "--saved-value", "0"), 2, "--saved-value 0 makes every contact"),
        (("--budget", "10", "--horizon-days", "0"), 2, "--horizon-days must be in [1, 366]"),
        (("--budget", "10", "--min-detectable", "1.5"), 2, "--min-detectable must be an uplift"),
    ]  # fmt: skip
    for extra, expected, message in cases:
        code, _, err = _plan(capsys, db, customers, "d", out, *extra)
        assert code == expected and message in err, (extra, err)
        assert not out.exists()
    code, _, err = _run(
        capsys, "campaign", "plan", "d", "--customers", str(doubled), "--budget", "10",
        "--out", str(out), *db,
    )  # fmt: skip
    assert code == 1 and f"customerID {first_id!r} appears more than once" in err
    assert count_rows(migrated_db_url, "select count(*) from campaigns") == 0
    # --rank risk is the way to plan without a value
    code, _, err = _plan(
        capsys, db, customers, "r", out, "--budget", "200", "--saved-value", "0", "--rank", "risk"
    )
    assert code == 0, err
    plan = pd.read_csv(out)
    assert plan["churn_probability"].is_monotonic_decreasing
    # stratified by risk decile: each decile holds its share of control, to within one
    per_decile = plan.groupby("risk_decile")["arm"].apply(lambda a: (a == "control").sum())
    assert per_decile.between(1, 3).all() and (plan["arm"] == "control").sum() == 20
    code, out_json, _ = _run(
        capsys, "campaign", "power", "--budget", "4000", "--control-share", "0.1",
        "--baseline", "0.47", "--min-detectable", "0.05", "--json",
    )  # fmt: skip
    power = json.loads(out_json)
    assert power["min_detectable_uplift"] == pytest.approx(0.0737, abs=5e-4)
    assert power["budget_for_min_detectable"] > 4000


def test_contacts_window_and_missing_outcomes_in_the_report(
    trained_model: TrainedModel,
    migrated_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers, db = str(trained_model.data_path), ("--db", migrated_db_url)
    code, _, err = _plan(
        capsys, db, customers, "w", tmp_path / "w.csv", "--budget", "400",
        "--control-share", "0.5", "--horizon-days", "10",
    )  # fmt: skip
    assert code == 0, err
    plan = pd.read_csv(tmp_path / "w.csv")
    engine = engine_for(migrated_db_url)
    try:
        # the campaign started 12 days ago: its 10-day window has ended (outcomes are never
        # in the future, so a test of the window moves the start back)
        with engine.begin() as conn:
            conn.execute(
                sa.update(campaigns).values(
                    started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=12)
                )
            )
        campaign = get(engine, "w")
        assert campaign is not None
        start = campaign.started_at
        treated = plan[plan["arm"] == "treated"]["customerID"].tolist()
        control = plan[plan["arm"] == "control"]["customerID"].tolist()
        day = dt.timedelta(days=1)
        rows = []
        # treated: the first 60 churn on day 2, all others stay; half of them are contacted
        for i, c in enumerate(treated):
            rows.append(Outcome(customerID=c, churned=i < 60, observed_at=start + 2 * day))
        # a later "stayed" does not undo a churn in the window
        rows += [
            Outcome(customerID=c, churned=False, observed_at=start + 5 * day) for c in treated[:60]
        ]
        # control: only the first 150 come back (missing outcomes), 90 churned
        for i, c in enumerate(control[:150]):
            rows.append(Outcome(customerID=c, churned=i < 90, observed_at=start + 3 * day))
        # after the horizon: not counted (would turn 50 control stayers into churners)
        rows += [
            Outcome(customerID=c, churned=True, observed_at=start + 11 * day)
            for c in control[100:150]
        ]
        store(engine, rows, source="cli")
    finally:
        engine.dispose()
    contacts = tmp_path / "reached.csv"
    reached = treated[:30] + treated[60:200]  # 30 of the churners were contacted after churning
    pd.DataFrame(
        {
            "customerID": reached,
            "contacted_at": [(start + 4 * dt.timedelta(days=1)).isoformat()] * len(reached),
        }
    ).to_csv(contacts, index=False)
    code, _, err = _run(
        capsys, "campaign", "contacts", "import", str(contacts), "--campaign", "w", *db
    )
    assert code == 0 and "170 contact(s) recorded" in err, err
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {"customerID": [control[0], "nobody"], "contacted_at": ["2026-01-01", "x"]}
    ).to_csv(bad, index=False)
    code, _, err = _run(capsys, "campaign", "contacts", "import", str(bad), "--campaign", "w", *db)
    assert code == 1 and "2 bad row(s), nothing imported" in err
    assert (
        "is in the control arm, which is never contacted" in err and "line 3, contacted_at" in err
    )

    code, out, _ = _run(capsys, "campaign", "report", "w", "--json", *db)
    report = json.loads(out)
    assert report["treated"]["churned"] == 60  # the later "stayed" did not undo them
    assert report["control"]["outcomes"] == 150 and report["control"]["churned"] == 90
    assert report["control"]["outcome_rate"] == pytest.approx(150 / len(control), abs=1e-6)
    assert any("outcomes come back at different rates" in w for w in report["checks"]["warnings"])
    assert report["checks"]["sample_ratio_p"] > 0.5
    window = report["window"]
    assert window["horizon_days"] == 10 and window["final"] is True
    assert window["passed_share"] == 1.0 and report["status"] == "final"
    complier = report["complier"]
    assert complier["contacted"] == 170 and complier["churned_before_contact"] == 30
    assert complier["reached"] == 140
    reach = 140 / len(treated)
    assert complier["cace"] == pytest.approx(report["uplift"] / reach, abs=1e-4)
    assert complier["cace_ci_low"] == pytest.approx(report["uplift_ci_low"] / reach, abs=1e-4)
    segments = report["segments"]
    assert {r["segment"] for r in segments["rows"]} == {"contract", "tenure_band", "risk_decile"}
    assert "Bonferroni" in segments["note"]
    code, text, _ = _run(capsys, "campaign", "report", "w", *db)
    assert "FINAL" in text and "effect of being reached" in text and "by segment" in text
    assert "WARNING: outcomes come back at different rates" in text


def test_learn_is_held_to_its_evidence(
    trained_model: TrainedModel,
    migrated_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers, db = str(trained_model.data_path), ("--db", migrated_db_url)
    code, _, err = _plan(
        capsys, db, customers, "l", tmp_path / "l.csv", "--budget", "3000", "--control-share", "0.5"
    )
    assert code == 0, err
    outcomes = tmp_path / "o.csv"
    code, _, err = _run(
        capsys, "campaign", "simulate", "l", "--customers", customers, "--segment-effect",
        "InternetService=DSL:0.6", "--segment-effect", "InternetService=Fiber optic:-0.2",
        "--seed", "3", "--out", str(outcomes), *db,
    )  # fmt: skip
    assert code == 0, err
    assert _run(capsys, "outcomes", "import", str(outcomes), *db)[0] == 0
    learn = ("campaign", "learn", "l", "--customers", customers, "--json", *db)
    code, out, err = _run(capsys, *learn)
    assert code == 0, err
    code, _, err = _run(capsys, *learn[:-2], "--seed", "7", *db)
    assert code == 1 and "a re-run refuses" in err and "--force" in err
    code, _, err = _run(capsys, *learn[:-2], "--seed", "7", "--force", "--actor", "ana", *db)
    assert code == 0, err
    assert (
        count_rows(
            migrated_db_url, "select count(*) from audit_log where reason like '%FORCED re-learn%'"
        )
        == 1
    )
    assert _run(capsys, "campaign", "close", "l", *db)[0] == 0
    learned = json.loads(out)
    if learned["use_uplift"]:
        code, _, err = _plan(
            capsys, db, customers, "next", tmp_path / "n.csv", "--budget", "500", "--rank", "uplift"
        )
        assert code == 0, err
        floor = pd.read_csv(tmp_path / "l.csv")["churn_probability"].min()
        assert (pd.read_csv(tmp_path / "n.csv")["churn_probability"] >= floor - 1e-6).all()
        assert "outside the population the uplift evidence covers" in err
