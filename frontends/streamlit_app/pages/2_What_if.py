"""What-if: edit one customer and watch the churn probability and its drivers change."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from churn.schema import EXAMPLE_RECORD, FEATURES, Feature
from frontends.streamlit_app.ui import call_service, client, percent, safe_page
from frontends.streamlit_app.whatif import allowed_choices

st.set_page_config(page_title="What-if", page_icon="🔧", layout="wide")


def _widget(feat: Feature, record: dict[str, Any], start: dict[str, Any]) -> Any:
    if feat.kind == "categorical":
        choices = allowed_choices(feat.name, record)
        current = start.get(feat.name)
        index = choices.index(current) if current in choices else 0
        return st.selectbox(
            feat.name,
            choices,
            index=index,
            key=f"wi_{feat.name}_{len(choices)}",
            help=feat.description,
        )
    if feat.kind == "binary":
        return st.selectbox(
            feat.name,
            [0, 1],
            index=int(start.get(feat.name, 0)),
            format_func=lambda v: "Yes" if v else "No",
            key=f"wi_{feat.name}",
            help=feat.description,
        )
    lo, hi = feat.minimum or 0, feat.maximum or 0
    if feat.kind == "integer":
        return int(
            st.number_input(
                feat.name, int(lo), int(hi), int(start[feat.name]), 1, key=f"wi_{feat.name}"
            )
        )
    return float(
        st.number_input(
            feat.name, float(lo), float(hi), float(start[feat.name]), 1.0, key=f"wi_{feat.name}"
        )
    )


def _edit() -> dict[str, Any]:
    start = {f.name: EXAMPLE_RECORD[f.name] for f in FEATURES}
    record: dict[str, Any] = {}
    columns = st.columns(3)
    for i, feat in enumerate(FEATURES):
        with columns[i % 3]:
            record[feat.name] = _widget(feat, record, start)
    return record


def _drivers_chart(contributions: list[dict[str, Any]]) -> alt.Chart:
    frame = pd.DataFrame(contributions[:12])
    frame["label"] = frame["feature"] + " = " + frame["value"].astype(str)
    frame["effect"] = frame["contribution"].map(lambda c: "raises risk" if c > 0 else "lowers risk")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q"),
            y=alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color(
                "effect:N",
                legend=alt.Legend(orient="bottom", title=None),
                scale=alt.Scale(
                    domain=["raises risk", "lowers risk"], range=["#d92d20", "#039855"]
                ),
            ),
            tooltip=["feature", "value", "contribution"],
        )
    )


@safe_page("What-if", role="analyst")
def render() -> None:
    st.caption("Change any field; the score and the drivers follow (from the service's /explain).")
    left, right = st.columns([3, 2])
    with left:
        record = _edit()
    svc = client()
    prediction = call_service(lambda: svc.predict(record))
    explanation = call_service(lambda: svc.explain(record))
    baseline = st.session_state.setdefault("whatif_baseline", prediction["churn_probability"])
    with right:
        delta = (prediction["churn_probability"] - baseline) * 100
        st.metric(
            "Churn probability",
            percent(prediction["churn_probability"]),
            delta=f"{delta:+.1f} pts vs. baseline" if abs(delta) >= 0.05 else None,
            delta_color="inverse",
        )
        verdict = "will churn" if prediction["churn"] else "will stay"
        st.write(
            f"Decision: **{verdict}** (threshold {prediction['threshold']:.3f}), "
            f"risk band **{prediction['risk_band']}**, model {prediction['model_version']}"
        )
        if st.button("Use as baseline", key="set_baseline"):
            st.session_state["whatif_baseline"] = prediction["churn_probability"]
        st.subheader("Drivers")
        st.altair_chart(_drivers_chart(explanation["contributions"]), width="stretch")
        st.caption(f"method: {explanation.get('method', '')}")


render()
