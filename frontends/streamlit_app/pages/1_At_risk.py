"""At-risk customers: score a file or a generated sample, then rank, chart and sum the risk."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from churn.generator import DRIFTS, generate
from frontends.common.records import UploadError, parse_csv
from frontends.streamlit_app import scoring
from frontends.streamlit_app.ui import call_service, client, percent, safe_page

st.set_page_config(page_title="At-risk customers", page_icon="📉", layout="wide")
MAX_ROWS = 50_000


def _load_customers() -> pd.DataFrame | None:
    source = st.radio("Customers", ["Draw a sample", "Upload a CSV"], horizontal=True, key="source")
    if source == "Upload a CSV":
        upload = st.file_uploader("Telco customer CSV", type=["csv"], key="upload")
        if upload is None or st.session_state.get("scored_upload") == upload.file_id:
            return None
        st.session_state["scored_upload"] = upload.file_id
        try:
            parsed = parse_csv(upload.getvalue(), max_rows=MAX_ROWS)
        except UploadError as exc:
            st.error(f"Cannot read the file: {exc}")
            return None
        if parsed.problems:
            with st.expander(f"{len(parsed.problems)} rows rejected (not scored)"):
                rejected = [(p.line, p.customer_id, p.reason) for p in parsed.problems]
                table = pd.DataFrame(rejected, columns=["line", "customer_id", "reason"])
                st.dataframe(table, hide_index=True)
        return pd.DataFrame(parsed.records) if parsed.records else None
    cols = st.columns(3)
    rows = cols[0].number_input("Number of customers", 10, MAX_ROWS, 2000, step=500, key="rows")
    seed = cols[1].number_input("Seed", 0, 10_000, 7, key="seed")
    drift = cols[2].selectbox("Customer base", list(DRIFTS), key="drift")
    if st.button("Draw and score", key="draw", type="primary"):
        return generate(int(rows), seed=int(seed), drift=drift)
    return None


def _score(customers: pd.DataFrame) -> None:
    bar = st.progress(0.0, text="Scoring…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Scored {done:,} of {total:,}")

    scored = call_service(lambda: scoring.score_frame(client(), customers, progress))
    bar.empty()
    st.session_state["scored"] = scored


def _show(scored: pd.DataFrame) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Customers scored", f"{len(scored):,}")
    c2.metric("Predicted to churn", f"{int(scored['churn'].sum()):,}")
    c3.metric("Expected churn rate", percent(scored["churn_probability"].mean()))
    c4.metric("Monthly revenue at risk", f"${scoring.revenue_at_risk(scored):,.0f}")

    st.subheader("Highest-risk customers")
    n = st.slider("Show", 10, min(500, max(len(scored), 10)), min(50, len(scored)), key="top_n")
    st.dataframe(
        scoring.top_risk(scored, int(n)),
        hide_index=True,
        column_config={
            "churn_probability": st.column_config.ProgressColumn(
                "churn probability", min_value=0.0, max_value=1.0, format="%.3f"
            ),
            "revenue_at_risk": st.column_config.NumberColumn("revenue at risk", format="$%.2f"),
        },
    )

    st.subheader("Distribution of churn probabilities")
    hist = scoring.probability_histogram(scored)
    st.altair_chart(
        alt.Chart(hist)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", bin="binned", title="churn probability"),
            x2=alt.X2("end:Q"),
            y=alt.Y("customers:Q"),
        )
        .transform_calculate(end="datum.probability + 0.05"),
        width="stretch",
    )

    st.subheader("Churn by segment")
    tabs = st.tabs(list(scoring.SEGMENTS))
    for tab, (label, column) in zip(tabs, scoring.SEGMENTS.items(), strict=True):
        table = scoring.churn_by(scored, column)
        chart = (
            alt.Chart(table)
            .mark_bar()
            .encode(
                x=alt.X("segment:N", title=label, sort=None),
                y=alt.Y(
                    "expected_churn_rate:Q", title="expected churn rate", axis=alt.Axis(format="%")
                ),
                tooltip=["segment", "customers", "expected_churn_rate", "revenue_at_risk"],
            )
        )
        tab.altair_chart(chart, width="stretch")
        tab.dataframe(table, hide_index=True)


@safe_page("At-risk customers", role="analyst")
def render() -> None:
    customers = _load_customers()
    if customers is not None:
        _score(customers)
    scored = st.session_state.get("scored")
    if scored is None:
        st.info("Draw a sample or upload a customer file to score it.")
        return
    _show(scored)


render()
