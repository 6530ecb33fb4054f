"""The design pieces without a model: the stratified split, the outcome window (first definitive
outcome, the horizon, pre-contact churn), missing outcomes and the sample-ratio check, segments,
the simulation's truth under the clip, and the held-out minimum of `learn`."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from churn.campaigns.plan import CONTROL, TREATED, CampaignError, assign_arms
from churn.campaigns.report import build_report
from churn.campaigns.segments import risk_deciles, segment_effects, tenure_band
from churn.campaigns.simulate import parse_effects, simulate
from churn.campaigns.uplift import learn
from churn.campaigns.window import Window, window_outcomes
from churn.generator import churn_probability, generate

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_the_split_is_stratified_and_never_leaves_control_empty_by_luck() -> None:
    ids = pd.Series([f"C{i:05d}" for i in range(1000)])
    strata = risk_deciles(pd.Series(np.linspace(0, 1, 1000)))
    arms = assign_arms(ids, "salt", 0.1, strata)
    assert (arms == CONTROL).sum() == 100
    per_stratum = (arms == CONTROL).groupby(strata.to_numpy()).sum()
    assert per_stratum.tolist() == [10] * 10  # exactly the share in every decile
    assert arms.equals(assign_arms(ids, "salt", 0.1, strata))
    assert not arms.equals(assign_arms(ids, "other", 0.1, strata))
    # N=100 at share 0.02 had a 13% chance of an empty control arm; now it holds 2, always
    for salt in ("a", "b", "c", "d", "e"):
        assert (assign_arms(ids.head(100), salt, 0.02) == CONTROL).sum() == 2


def _outcomes(rows: list[tuple[str, bool, dt.datetime]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customerID": [r[0] for r in rows],
            "churned": [r[1] for r in rows],
            "observed_at": pd.to_datetime([r[2] for r in rows], utc=True),
        }
    )


def test_the_window_takes_the_first_definitive_outcome_and_stops_at_the_horizon() -> None:
    assignments = pd.DataFrame({"customerID": ["a", "b", "c", "d"], "arm": [TREATED] * 4})
    outcomes = _outcomes(
        [
            ("a", True, START + 2 * DAY), ("a", False, START + 5 * DAY),  # churn not undone
            ("b", False, START + 2 * DAY), ("b", True, START + 40 * DAY),  # late: not counted
            ("c", True, START - DAY),  # before the start: not counted
            ("d", False, START + 3 * DAY),
        ]
    )  # fmt: skip
    window = Window(START, START + 30 * DAY, 30)
    joined = window_outcomes(assignments, outcomes, window).set_index("customerID")
    assert joined.loc["a", "churned"] == True  # noqa: E712
    assert joined.loc["a", "observed_at"] == pd.Timestamp(START + 2 * DAY)
    assert joined.loc["b", "churned"] == False  # noqa: E712
    assert pd.isna(joined.loc["c", "churned"])
    # without a horizon (and not closed) the late churn would count: the old drift
    open_ended = window_outcomes(assignments, outcomes, Window(START, None, None))
    assert open_ended.set_index("customerID").loc["b", "churned"] == True  # noqa: E712


def test_churn_before_the_contact_is_not_a_reached_customer() -> None:
    assignments = pd.DataFrame({"customerID": ["a", "b", "c"], "arm": [TREATED] * 3})
    outcomes = _outcomes(
        [("a", True, START + DAY), ("b", True, START + 9 * DAY), ("c", False, START + 9 * DAY)]
    )
    contacts = pd.DataFrame(
        {"customerID": ["a", "b"], "contacted_at": pd.to_datetime([START + 5 * DAY] * 2, utc=True)}
    )
    joined = window_outcomes(assignments, outcomes, Window(START, None, None), contacts)
    reached = dict(zip(joined["customerID"], joined["reached"], strict=True))
    assert reached == {"a": False, "b": True, "c": False}
    assert joined["churned_before_contact"].tolist() == [True, False, False]


def _joined(n_treated: int, n_control: int, back_treated: int, back_control: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    arms = [TREATED] * n_treated + [CONTROL] * n_control
    churned = (rng.random(len(arms)) < 0.3).astype(object)
    back = np.r_[np.arange(n_treated) < back_treated, np.arange(n_control) < back_control]
    churned[~back] = np.nan
    return pd.DataFrame(
        {"customerID": [f"k{i}" for i in range(len(arms))], "arm": arms, "churned": churned,
         "observed_at": pd.Timestamp(START + DAY)}
    )  # fmt: skip


def test_missing_outcomes_and_a_broken_split_are_flagged() -> None:
    balanced = build_report("ok", _joined(500, 500, 480, 470), 50.0, 150.0, planned_share=0.5)
    assert balanced.checks["warnings"] == []
    assert balanced.treated.outcome_rate == pytest.approx(0.96)
    skewed = build_report("miss", _joined(500, 500, 480, 300), 50.0, 150.0, planned_share=0.5)
    assert any("outcomes come back at different rates" in w for w in skewed.checks["warnings"])
    srm = build_report("srm", _joined(600, 400, 600, 400), 50.0, 150.0, planned_share=0.5)
    assert srm.checks["sample_ratio_p"] < 1e-5
    assert any("sample-ratio mismatch" in w for w in srm.checks["warnings"])
    empty = build_report("empty", _joined(100, 0, 100, 0), 50.0, 150.0, planned_share=0.1)
    assert any("control arm is empty" in w for w in empty.checks["warnings"])
    assert empty.uplift is None and empty.status == "not enough outcomes yet"


def test_segments_have_adjusted_intervals_and_no_figure_below_the_minimum() -> None:
    joined = _joined(400, 400, 400, 400)
    joined["contract"] = ["Month-to-month"] * 380 + ["Two year"] * 20 + ["Month-to-month"] * 400
    joined["tenure_band"] = tenure_band(pd.Series(np.arange(800) % 72))
    joined["risk_decile"] = risk_deciles(pd.Series(np.arange(800) % 100, dtype=float))
    seg = segment_effects(joined)
    assert seg is not None
    rows = {(r["segment"], r["value"]): r for r in seg["rows"]}
    two_year = rows[("contract", "Two year")]
    assert two_year["control_outcomes"] == 0 and two_year["uplift"] is None
    k = sum(r["enough"] for r in seg["rows"])
    assert seg["level"] == pytest.approx(1 - 0.05 / k) and "Bonferroni" in seg["note"]
    m2m = rows[("contract", "Month-to-month")]
    assert m2m["ci_low"] < m2m["uplift"] < m2m["ci_high"]
    assert set(joined["tenure_band"]) == {
        "0-12 months",
        "13-24 months",
        "25-48 months",
        "49+ months",
    }
    assert segment_effects(joined.drop(columns=["contract", "tenure_band", "risk_decile"])) is None


def test_the_simulations_truth_honours_the_clip() -> None:
    """An offer that doubles churn (effect -1) cannot push a customer past 1: the truth is
    p0 - min(2 p0, 1), not -p0 (which the unclipped formula gave)."""
    planned = generate(2000, seed=3)
    p0 = churn_probability(planned)
    planned = planned.assign(arm=assign_arms(planned["customerID"], "s", 0.5).to_numpy())
    sim = simulate(planned, parse_effects(-1.0, []), 1, START, START + DAY)
    assert sim.true_uplift == pytest.approx(float(np.mean(p0 - np.minimum(2 * p0, 1))))
    assert (p0 > 0.5).sum() > 100 and sim.true_uplift > float(np.mean(-p0)) + 0.01
    half = simulate(planned, parse_effects(0.3, []), 1, START, START + DAY, return_rate=0.5)
    assert 0.45 < len(half.outcomes) / len(planned) < 0.55  # missing outcomes, at random


def test_learn_needs_the_minimum_in_the_held_out_part_too() -> None:
    base = generate(120, seed=4)
    base["churn_probability"] = churn_probability(base)
    frame = base.assign(
        arm=assign_arms(base["customerID"], "x", 0.5).to_numpy(),
        churned=np.random.default_rng(0).random(120) < 0.4,
    )
    # 60 per arm: the training part holds 36 (>= 30, enough to fit), the held-out part 24
    assert (frame["arm"] == CONTROL).sum() == 60
    with pytest.raises(CampaignError, match="held-out part of the"):
        learn(frame, seed=0)
