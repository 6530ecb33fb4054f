"""Monitoring: the latest drift report, drift share over time, realized performance from
outcomes beside the offline test figures, and live service metrics."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from frontends.common.client import ServiceError
from frontends.streamlit_app import drift, service_metrics
from frontends.streamlit_app.ui import client, percent, reports_dir, safe_page, settings

st.set_page_config(page_title="Monitoring", page_icon="📈", layout="wide")
REFRESH_S = 10
MAX_INLINE_REPORT_MB = 20


def _drift() -> None:
    st.subheader("Data drift")
    folder = reports_dir()
    history = drift.load_history(folder)
    if history.empty:
        st.info(f"No drift runs yet (nothing in {drift.drift_dir(folder) / 'history.jsonl'}).")
        return
    last = history.iloc[-1]
    c1, c2, c3 = st.columns(3)
    c1.metric("Latest drift share", percent(last["drift_share"]))
    c2.metric("Drift detected", "yes" if bool(last.get("drift_detected")) else "no")
    c3.metric("Runs", len(history))
    # The rule is drawn where the latest run decided: the monitoring run config owns the number.
    threshold = drift.latest_threshold(history, settings().drift_share_threshold)
    line = (
        alt.Chart(history)
        .mark_line(point=True)
        .encode(
            x=alt.X("timestamp:T", title="run"),
            y=alt.Y("drift_share:Q", title="share of drifted features", axis=alt.Axis(format="%")),
            tooltip=["timestamp", "drift_share", "drift_detected", "n_rows"],
        )
    )
    rule = alt.Chart(pd.DataFrame({"y": [threshold]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
    st.altair_chart(line + rule, width="stretch")
    drifted = last.get("drifted_features")
    if isinstance(drifted, list) and drifted:
        st.write("Drifted in the latest run: " + ", ".join(map(str, drifted)))
    report = drift.latest_report(folder, history)
    if report is None:
        st.caption("The latest run's HTML report was not found.")
        return
    data = report.read_bytes()
    st.download_button("Download the latest drift report", data, report.name, "text/html")
    if len(data) <= MAX_INLINE_REPORT_MB * 1024 * 1024 and st.toggle("Show the report here"):
        components.html(data.decode("utf-8", errors="replace"), height=900, scrolling=True)


def _realized() -> None:
    st.subheader("Realized performance")
    run, table = drift.load_realized(reports_dir())
    if table.empty:
        st.info("No outcomes joined to predictions yet (churn outcomes import, POST /outcomes).")
        return
    st.caption(
        f"Outcomes of the last {run.get('window_days')} days joined to the predictions served; "
        "offline_roc_auc is the test split's."
    )
    st.dataframe(table, hide_index=True)
    decision = run.get("decision") or {}
    rolled = (run.get("rollback") or {}).get("performed")
    note = st.error if decision.get("degraded") else st.caption
    note(("Rolled back automatically: " if rolled else "") + str(decision.get("reason", "")))


@st.fragment(run_every=REFRESH_S)
def _live() -> None:
    st.subheader("Live service metrics")
    try:
        text = client().metrics_text()
    except ServiceError as exc:
        st.warning(f"The service's /metrics is unreachable: {exc.message}")
        return
    snap = service_metrics.parse(text)
    old = st.session_state.get("metrics_snapshot")
    st.session_state["metrics_snapshot"] = snap
    rates = service_metrics.rates(snap, old)
    c1, c2, c3 = st.columns(3)
    c1.metric("Requests served", f"{sum(snap.requests.values()):,.0f}")
    c2.metric("Request rate", f"{sum(rates.values()):.1f}/s" if rates else "measuring…")
    errors = sum(snap.errors.values())
    c3.metric("5xx answers", f"{errors:,.0f}")
    if snap.requests:
        served = pd.DataFrame(
            {"endpoint": list(snap.requests), "requests": list(snap.requests.values())}
        )
        st.altair_chart(
            alt.Chart(served)
            .mark_bar()
            .encode(x=alt.X("requests:Q"), y=alt.Y("endpoint:N", sort="-x", title=None)),
            width="stretch",
        )
    latency = pd.DataFrame(service_metrics.latency_table(snap, old))
    if not latency.empty:
        st.write("Latency percentiles (ms, over the last interval)")
        st.dataframe(latency, hide_index=True)
    batch = service_metrics.batch_size_percentiles(snap)
    if batch["p50"] is not None:
        st.write(f"Adaptive batch size: median {batch['p50']:.1f}, p95 {batch['p95']:.1f}")
    if snap.predictions:
        mix = pd.DataFrame(
            {"decision": list(snap.predictions), "predictions": list(snap.predictions.values())}
        )
        st.altair_chart(
            alt.Chart(mix).mark_arc().encode(theta="predictions:Q", color="decision:N"),
            width="content",
        )
    st.caption(f"Refreshed every {REFRESH_S} s from {client().base_url}/metrics")


@safe_page("Monitoring")
def render() -> None:
    _drift()
    _realized()
    _live()


render()
