"""Retention alerts: the customers whose risk an event just raised (`churn events consume`), newest
first, and one customer's risk event by event. Read from the project database (`customer_events`,
written by the consumer); nothing here scores or changes anything."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from churn.db.engine import make_engine
from churn.db.events import customer_history, recent_alerts
from frontends.streamlit_app.ui import safe_page, settings

st.set_page_config(page_title="Retention alerts", page_icon="🚨", layout="wide")
REASONS = {
    "crossed": "crossed the threshold",
    "rose": "risk rose",
    "cancellation_call": "called about cancelling",
}


@safe_page("Retention alerts")
def render() -> None:
    engine = make_engine(settings().prediction_db)
    try:
        alerts = recent_alerts(engine, limit=200)
        if not alerts:
            st.info("No retention alert yet: `churn events consume` publishes one when an event "
                    "raises a customer's risk (`make events-demo` shows it).")  # fmt: skip
            return
        table = pd.DataFrame(alerts)
        table["why"] = table["alert"].map(REASONS).fillna(table["alert"])
        table["risk"] = table["churn_probability"].map(lambda p: f"{p:.1%}")
        table["before"] = table["previous_probability"].map(lambda p: f"{p:.1%}")
        st.dataframe(
            table[["handled_at", "customerID", "why", "before", "risk", "cause", "model_version"]],
            hide_index=True,
        )
        chosen = st.selectbox("Customer", list(dict.fromkeys(table["customerID"])), index=0)
        history = pd.DataFrame(customer_history(engine, chosen))
        st.subheader(f"Risk of {chosen}, event by event")
        chart = (
            alt.Chart(history)
            .mark_line(point=True)
            .encode(
                x=alt.X("handled_at:T", title="handled"),
                y=alt.Y(
                    "churn_probability:Q", title="churn probability", axis=alt.Axis(format="%")
                ),
                tooltip=["cause", "churn_probability", "alert"],
            )
        )
        st.altair_chart(chart, use_container_width=True)
        st.dataframe(history, hide_index=True)
    finally:
        engine.dispose()


render()
