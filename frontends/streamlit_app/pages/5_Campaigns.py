"""Campaigns: every retention campaign, each report with its intervals, churn by arm over time,
and the contact list for analysts. Read from the project database (`churn campaign ...` writes
it); nothing here scores or changes anything."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import sqlalchemy as sa
import streamlit as st

from churn.campaigns.report import churn_over_time, report_of
from churn.db.campaigns import list_all, read_assignments
from churn.db.engine import make_engine
from churn.db.users import RANK
from frontends.streamlit_app.signin import current_user
from frontends.streamlit_app.ui import percent, safe_page, settings

st.set_page_config(page_title="Campaigns", page_icon="📣", layout="wide")


def _engine() -> sa.Engine:
    return make_engine(settings().prediction_db)


def _interval(figures: dict[str, Any], key: str, fmt: str) -> str:
    low, high = figures[f"{key}_ci_low"], figures[f"{key}_ci_high"]
    if low is None:
        return f"not enough outcomes yet (at least {figures['min_outcomes_per_arm']} per arm)"
    return f"95% interval {fmt.format(low)} to {fmt.format(high)}"


def _status(figures: dict[str, Any]) -> None:
    """Whether the figures can be trusted yet: not enough outcomes, interim, or final."""
    {"final": st.success, "interim": st.info}.get(figures["status"], st.warning)(figures["message"])
    window = figures["window"] or {}
    if window.get("passed_share") is not None:
        st.progress(
            float(window["passed_share"]),
            text=f"outcome window {window['start'][:10]} to {window['end'][:10]} "
            f"({window['horizon_days'] or '-'} days): {window['passed_share']:.0%} passed",
        )
    for warning in figures["checks"]["warnings"]:
        st.warning(warning)


def _contacts_and_segments(figures: dict[str, Any]) -> None:
    if (c := figures["complier"]) is not None:
        reached = (
            "n/a" if c["cace"] is None
            else f"{c['cace']:+.1%} (95% interval {c['cace_ci_low']:+.1%} to "
            f"{c['cace_ci_high']:+.1%})"
        )  # fmt: skip
        st.write(
            f"Contacts: {c['contacted']} contacted, {c['reached']} reached "
            f"({c['reach_rate']:.1%} of the treated arm; {c['churned_before_contact']} churned "
            f"before the contact). Effect of being assigned (ITT): the uplift above; effect of "
            f"being reached (complier average): {reached}."
        )
    if (seg := figures["segments"]) is None:
        return
    st.markdown("**Effects by segment**")
    rows = [
        {"segment": r["segment"], "value": r["value"],
         "treated outcomes": r["treated_outcomes"], "control outcomes": r["control_outcomes"],
         "uplift": "not enough outcomes yet" if r["uplift"] is None else f"{r['uplift']:+.1%}",
         "interval": "" if r["uplift"] is None
         else f"{r['ci_low']:+.1%} to {r['ci_high']:+.1%}"}
        for r in seg["rows"]
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(seg["note"])


def _value(value: Any, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def _report(engine: sa.Engine, campaign: Any) -> None:
    report, joined = report_of(engine, campaign)
    figures = report.as_json()
    _status(figures)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Uplift (churn points)", _value(figures["uplift"], "{:+.1%}"))
    c1.caption(_interval(figures, "uplift", "{:+.1%}"))
    c2.metric("Customers saved", _value(figures["customers_saved"], "{:,.1f}"))
    c2.caption(_interval(figures, "customers_saved", "{:,.1f}"))
    c3.metric("Net value", _value(figures["net_value"], "{:,.0f}"))
    c3.caption(_interval(figures, "net_value", "{:,.0f}"))
    c4.metric(
        f"Precision in the top {campaign.budget}", _value(figures["precision_top_n"], "{:.1%}")
    )
    c4.caption("measured on the control arm (nobody contacted)")
    arms = pd.DataFrame(
        [
            {"arm": arm, "customers": a["n"], "outcomes": a["outcomes"],
             "outcomes back": "n/a" if a["outcome_rate"] is None else percent(a["outcome_rate"]),
             "churn rate": percent(a["churn_rate"]) if a["churn_rate"] is not None else "n/a"}
            for arm, a in (("treated", figures["treated"]), ("control", figures["control"]))
        ]
    )  # fmt: skip
    st.dataframe(arms, hide_index=True)
    _contacts_and_segments(figures)
    over_time = churn_over_time(joined)
    if over_time.empty:
        st.info("No outcomes yet for this campaign (churn outcomes import, POST /outcomes).")
    else:
        st.altair_chart(
            alt.Chart(over_time)
            .mark_line(point=True)
            .encode(
                x=alt.X("day:T", title="outcome observed"),
                y=alt.Y("churn_rate:Q", title="churn rate so far", axis=alt.Axis(format="%")),
                color=alt.Color("arm:N"),
                tooltip=["day:T", "arm", "outcomes", "churned", "churn_rate"],
            ),
            width="stretch",
        )
    if campaign.learned:
        st.write("Uplift learning: " + str(campaign.learned["evidence"]["reason"]))


def _download(engine: sa.Engine, campaign: Any) -> None:
    user = current_user()
    if user is None or RANK[user.role] < RANK["analyst"]:
        st.caption("The contact list is for analysts.")
        return
    contacts = read_assignments(engine, campaign)
    st.download_button(
        "Download the contact list (CSV)",
        contacts.to_csv(index=False).encode(),
        f"{campaign.name}_contacts.csv",
        "text/csv",
        key="download-contacts",
    )
    st.caption(
        "customerID is stored keyed (churn.privacy) when CHURN_CUSTOMER_ID_KEY is set; the plan's "
        "own contacts.csv holds the raw IDs."
    )


@safe_page("Campaigns")
def render() -> None:
    engine = _engine()
    try:
        campaigns = list_all(engine)
        if not campaigns:
            st.info("No campaign yet: churn campaign plan NAME --customers FILE --budget N ...")
            return
        table = pd.DataFrame([c.as_json() for c in campaigns]).drop(columns=["learned"])
        table["state"] = ["open" if c.is_open else "closed" for c in campaigns]
        st.dataframe(table, hide_index=True)
        names = [c.name for c in campaigns]
        chosen = st.selectbox("Campaign", names, index=0)
        campaign = campaigns[names.index(chosen)]
        st.subheader(f"Campaign {campaign.name}")
        st.caption(
            f"Model version {campaign.model_version}, ranked by {campaign.rank_rule}, "
            f"{campaign.n_treated} treated and {campaign.n_control} control, "
            f"offer cost {campaign.offer_cost:g}, value of a customer kept {campaign.saved_value:g}"
            + (
                f"; designed to detect an uplift of {campaign.min_detectable_uplift:.1%} "
                "with 80% power"
                if campaign.min_detectable_uplift is not None
                else ""
            )
        )
        _report(engine, campaign)
        _download(engine, campaign)
    finally:
        engine.dispose()


render()
