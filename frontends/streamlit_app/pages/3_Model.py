"""The production model: metrics, threshold, and how the latest candidates compared."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from frontends.streamlit_app import mlflow_runs
from frontends.streamlit_app.ui import call_service, client, safe_page, settings

st.set_page_config(page_title="Model", page_icon="🧠", layout="wide")


@st.cache_data(ttl=60, show_spinner="Reading MLflow…")
def _mlflow_table(uri: str, experiment: str) -> pd.DataFrame:
    return mlflow_runs.latest_runs(uri, experiment)


def _candidates(info: dict[str, Any]) -> None:
    st.subheader("Candidates of the production training run")
    candidates = pd.DataFrame(info.get("candidates") or [])
    if candidates.empty:
        st.info("The model card lists no candidates.")
        return
    st.altair_chart(
        alt.Chart(candidates)
        .mark_bar(clip=True)
        .encode(
            x=alt.X(
                "cv_roc_auc:Q", title="cross-validated ROC AUC", scale=alt.Scale(domain=[0.5, 1])
            ),
            y=alt.Y("name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=240)),
            tooltip=list(
                candidates.columns.intersection(
                    ["name", "cv_roc_auc", "cv_roc_auc_std", "cv_brier"]
                )
            ),
        ),
        width="stretch",
    )
    st.dataframe(
        candidates.drop(columns=["best_params", "reliability"], errors="ignore"), hide_index=True
    )
    _reliability(candidates)


def reliability_frame(candidates: pd.DataFrame) -> pd.DataFrame:
    """One row per (candidate, bin) of the cards' out-of-fold reliability curves."""
    rows = []
    if "reliability" in candidates:
        for name, curve in zip(candidates["name"], candidates["reliability"], strict=True):
            if not isinstance(curve, dict):
                continue
            for predicted, observed in zip(
                curve.get("mean_predicted", []), curve.get("observed", []), strict=False
            ):
                rows.append({"name": name, "predicted": predicted, "observed": observed})
    return pd.DataFrame(rows, columns=["name", "predicted", "observed"])


def _reliability(candidates: pd.DataFrame) -> None:
    """Observed churn rate against predicted probability, out of fold, per candidate."""
    points = reliability_frame(candidates)
    if points.empty:
        return
    st.subheader("Calibration (out-of-fold reliability, training split)")
    diagonal = pd.DataFrame({"predicted": [0.0, 1.0], "observed": [0.0, 1.0]})
    line = (
        alt.Chart(points)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "predicted:Q", title="mean predicted probability", scale=alt.Scale(domain=[0, 1])
            ),
            y=alt.Y("observed:Q", title="observed churn rate", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("name:N", title="candidate"),
            tooltip=["name", "predicted", "observed"],
        )
    )
    perfect = (
        alt.Chart(diagonal)
        .mark_line(strokeDash=[4, 4], color="grey")
        .encode(x="predicted:Q", y="observed:Q")
    )
    st.altair_chart(perfect + line, width="stretch")


def _mlflow() -> None:
    st.subheader("Latest runs in MLflow")
    uri = mlflow_runs.tracking_uri()
    if uri is None:
        st.info("No MLflow tracking store is configured here (CHURN_MLFLOW_TRACKING_URI).")
        return
    try:
        runs = _mlflow_table(uri, settings().mlflow_experiment)
    except Exception as exc:  # MLflow raises many kinds; the page must stay up
        st.warning(f"MLflow at {uri} could not be read: {type(exc).__name__}")
        return
    if runs.empty:
        st.info("MLflow has no runs for this experiment yet.")
    else:
        st.dataframe(runs, hide_index=True)


@safe_page("Production model")
def render() -> None:
    info = call_service(client().model_info)
    st.write(
        f"**{info['model_name']}** version **{info['model_version']}** · {info['model_type']} · "
        f"trained {str(info['trained_at'])[:16].replace('T', ' ')} UTC"
    )
    metrics = {"threshold": info["threshold"], **(info.get("metrics") or {})}
    cols = st.columns(min(len(metrics), 6))
    for i, (name, value) in enumerate(metrics.items()):
        cols[i % len(cols)].metric(name, f"{value:.4f}" if isinstance(value, float) else value)
    _candidates(info)
    _mlflow()


render()
