"""The framework-free core of campaigns: parameters, arms, the streaming top N, the report's
bootstrap interval (its coverage over repeated simulations with a known truth), and the uplift
learner's verdict where the simulated effect is heterogeneous and where it is flat."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from churn.campaigns.plan import (
    CONTROL,
    TREATED,
    CampaignError,
    TopN,
    assign_arms,
    contact_list,
    expected_value,
    ranking_key,
    validate_params,
)
from churn.campaigns.report import build_report, uplift_interval
from churn.campaigns.simulate import parse_effects, simulate
from churn.campaigns.uplift import TwoModelUplift, learn
from churn.campaigns.window import Window, window_outcomes
from churn.generator import churn_probability, generate
from churn.monitoring.realized import exclude_treated

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"control_share": 0.0}, "--control-share must be in (0, 0.5], got 0.0"),
        ({"control_share": 0.6}, "--control-share must be in (0, 0.5], got 0.6"),
        ({"control_share": float("nan")}, "--control-share must be in (0, 0.5]"),
        ({"budget": 0}, "--budget must be at least 1, got 0"),
        ({"name": "bad name!"}, "campaign name 'bad name!' must be"),
        ({"rank": "luck"}, "--rank must be one of ('value', 'risk', 'uplift'), got 'luck'"),
        ({"offer_cost": -1.0}, "--offer-cost must be a finite number >= 0, got -1.0"),
    ],
)
def test_bad_parameters_are_refused_naming_the_argument(changes: dict, message: str) -> None:
    values = {
        "name": "spring",
        "budget": 10,
        "control_share": 0.1,
        "offer_cost": 50.0,
        "saved_value": 150.0,
        "rank": "value",
    }
    with pytest.raises(CampaignError) as err:
        validate_params(**{**values, **changes})
    assert message in str(err.value)


def test_arms_are_reproducible_by_salt_and_hold_out_the_share() -> None:
    ids = pd.Series([f"C{i:05d}" for i in range(20_000)])
    arms = assign_arms(ids, "salt-a", 0.2)
    assert arms.equals(assign_arms(ids, "salt-a", 0.2))
    assert 0.19 < (arms == CONTROL).mean() < 0.21
    other = assign_arms(ids, "salt-b", 0.2)
    assert 0.6 < (arms == other).mean() < 0.75  # another salt, another split (~0.68 by chance)
    assert set(arms) == {TREATED, CONTROL}


def test_streaming_top_n_equals_ranking_the_whole_file() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"customerID": [f"C{i}" for i in range(5000)], "churn_probability": rng.random(5000)}
    )
    frame.loc[100:110, "churn_probability"] = 1.0  # ties keep the file's order
    params = validate_params("t", 300, 0.1, 50.0, 150.0, "value", salt="s")
    frame["expected_value"] = expected_value(frame, params)
    frame["_key"] = ranking_key(frame, params)
    top = TopN(300)
    for start in range(0, len(frame), 700):
        top.add(frame.iloc[start : start + 700])
    whole = frame.sort_values("_key", ascending=False, kind="stable").head(300)
    streamed = top.result()
    assert list(streamed["customerID"]) == list(whole["customerID"])
    contacts = contact_list(streamed, params)
    assert list(contacts["rank"]) == list(range(1, 301))
    assert contacts["expected_value"].iloc[0] == pytest.approx(1.0 * 150 - 50)


def test_report_figures_from_known_counts() -> None:
    assignments = pd.DataFrame(
        {
            "customerID": [f"k{i}" for i in range(300)],
            "arm": [TREATED] * 200 + [CONTROL] * 100,
            "rank": range(1, 301),
            "churn_probability": 0.5,
            "expected_value": 25.0,
        }
    )
    churned = [True] * 40 + [False] * 150 + [True] * 50 + [False] * 50  # 10 treated unknown
    outcomes = pd.DataFrame(
        {
            "customerID": [f"k{i}" for i in range(190)] + [f"k{i}" for i in range(200, 300)],
            "churned": churned,
            "observed_at": pd.Timestamp("2026-11-10", tz="UTC"),
        }
    )
    early = pd.DataFrame(  # observed before the start: ignored
        {
            "customerID": ["k0"],
            "churned": [False],
            "observed_at": pd.Timestamp("2026-10-01", tz="UTC"),
        }
    )
    joined = window_outcomes(assignments, pd.concat([outcomes, early]), Window(START, None, None))
    report = build_report("known", joined, offer_cost=50.0, saved_value=150.0).as_json()
    assert report["treated"] == {
        "n": 200,
        "outcomes": 190,
        "churned": 40,
        "churn_rate": pytest.approx(40 / 190, abs=1e-6),  # the JSON rounds to 6 places
        "outcome_rate": 0.95,  # 10 treated outcomes never came back
    }
    assert report["control"]["churn_rate"] == 0.5
    uplift = 0.5 - 40 / 190
    assert report["uplift"] == pytest.approx(uplift, abs=1e-6)
    assert report["uplift_ci_low"] < uplift < report["uplift_ci_high"]
    assert report["customers_saved"] == pytest.approx(uplift * 200, abs=1e-4)
    assert report["net_value"] == pytest.approx(uplift * 200 * 150 - 50 * 200, abs=1e-2)
    assert report["precision_top_n"] == 0.5
    none_back = build_report(
        "none", window_outcomes(assignments, early, Window(START, None, None)), 50.0, 150.0
    )
    assert none_back.uplift is None and none_back.treated.outcomes == 0


COVERAGE_RUNS = 200


def test_the_95_interval_covers_the_true_uplift_in_most_simulations() -> None:
    """200 campaigns of 1,000 customers (20% control), each with a fresh split and fresh
    simulated outcomes, end to end through `simulate`, the window and the report; the truth is
    the mean of p0 - clip(p0 x (1 - effect)). The strict coverage check over many sizes is in
    test_campaign_intervals.py; this one says the report wires the interval to the truth."""
    base = generate(3000, seed=7)
    base = base.assign(p=churn_probability(base)).nlargest(1000, "p").reset_index(drop=True)
    spec = parse_effects(0.1, ["Contract=Month-to-month:0.4"])
    covered, widths = 0, []
    for run in range(COVERAGE_RUNS):
        planned = base.assign(arm=assign_arms(base["customerID"], f"run-{run}", 0.2).to_numpy())
        sim = simulate(planned, spec, seed=run, start=START, end=END)
        outcomes = sim.outcomes.assign(
            churned=sim.outcomes["Churn"] == "Yes",
            observed_at=pd.to_datetime(sim.outcomes["observed_at"], utc=True),
        )
        joined = window_outcomes(planned[["customerID", "arm"]], outcomes, Window(START, END, 29))
        report = build_report("sim", joined, 50.0, 150.0)
        covered += report.uplift_ci_low <= sim.true_uplift <= report.uplift_ci_high
        widths.append(report.uplift_ci_high - report.uplift_ci_low)
    rate = covered / COVERAGE_RUNS
    print(f"coverage of the 95% interval: {rate:.3f} over {COVERAGE_RUNS} runs")
    assert rate >= 0.90
    assert 0.05 < np.median(widths) < 0.2  # an interval that covers by being huge fails here


def test_uplift_interval_is_tight_for_large_arms() -> None:
    rng = np.random.default_rng(1)
    treated, control = rng.random(20_000) < 0.2, rng.random(20_000) < 0.3
    point, low, high = uplift_interval(
        int(treated.sum()), len(treated), int(control.sum()), len(control)
    )
    assert low < point < high and high - low < 0.02 and low > 0.08


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    """A planned campaign: the 4,000 riskiest of 8,000 customers, half held out (a learning
    campaign), risk = the true churn probability (the best a risk model can do)."""
    base = generate(8000, seed=5)
    base["churn_probability"] = churn_probability(base)
    top = base.nlargest(4000, "churn_probability").reset_index(drop=True)
    return top.assign(arm=assign_arms(top["customerID"], "learn", 0.5).to_numpy())


HETEROGENEOUS = ["InternetService=DSL:0.6", "InternetService=Fiber optic:-0.2"]


def _learned(population: pd.DataFrame, effect: float, segments: list[str]) -> tuple:
    sim = simulate(population, parse_effects(effect, segments), seed=1, start=START, end=END)
    return learn(population.assign(churned=(sim.outcomes["Churn"] == "Yes").to_numpy()), seed=1)


def test_uplift_ranking_wins_where_the_effect_differs_by_segment(population: pd.DataFrame) -> None:
    # offers work on DSL customers and remind fiber customers (who leave over price) to go
    model, evidence = _learned(population, 0.0, HETEROGENEOUS)
    assert evidence.use_uplift, evidence.reason
    assert evidence.difference_ci_low > 0 and "beats ranking by risk" in evidence.reason
    again = TwoModelUplift.from_json(model.as_json())  # stored as numbers, read back the same
    assert np.allclose(again.predict(population.head(50)), model.predict(population.head(50)))
    dsl = population["InternetService"] == "DSL"
    assert model.predict(population[dsl]).mean() > model.predict(population[~dsl]).mean() + 0.1


def test_uplift_ranking_is_refused_where_the_effect_is_flat(population: pd.DataFrame) -> None:
    _, evidence = _learned(population, 0.4, [])
    assert not evidence.use_uplift
    assert evidence.difference_ci_low <= 0 and "no evidence" in evidence.reason


def test_segment_effects_are_checked_against_the_schema() -> None:
    with pytest.raises(CampaignError, match="Contract has no category 'Forever'"):
        parse_effects(0.0, ["Contract=Forever:0.5"])
    with pytest.raises(CampaignError, match="must look like COLUMN=VALUE:EFFECT"):
        parse_effects(0.0, ["Colour=red:0.5"])
    with pytest.raises(CampaignError, match=r"--effect must be in \[-1, 1\]"):
        parse_effects(2.0, [])


def test_realized_metrics_leave_out_customers_treated_while_the_campaign_ran() -> None:
    when = pd.to_datetime(["2026-11-05", "2026-11-05", "2026-11-05", "2026-10-01"], utc=True)
    outcomes = pd.DataFrame(
        {
            "customerID": ["a", "b", "c", "a"],
            "churned": [False, True, True, True],
            "observed_at": when,
        }
    )
    treated = pd.DataFrame(
        {
            "customerID": ["a", "b"],
            "started_at": [dt.datetime(2026, 11, 1)] * 2,  # SQLite hands back naive UTC
            "closed_at": [None, dt.datetime(2026, 11, 3)],  # b's campaign ended before
        }
    )
    kept, excluded = exclude_treated(outcomes, treated)
    assert excluded == 1
    assert sorted(zip(kept["customerID"], kept["churned"], strict=True)) == [
        ("a", True),
        ("b", True),
        ("c", True),
    ]
