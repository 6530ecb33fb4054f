"""Dashboard entry page: what is here, and whether the scoring service is up."""

from __future__ import annotations

import streamlit as st

from frontends.streamlit_app.ui import client, safe_page

st.set_page_config(page_title="Telco churn dashboard", page_icon="📉", layout="wide")


@safe_page("Telco churn dashboard")
def render() -> None:
    c = client()
    if c.is_ready():
        st.success(f"The scoring service at {c.base_url} is ready.")
    else:
        st.warning(
            f"The scoring service at {c.base_url} is unreachable or not ready: the scoring "
            "pages will say so until it is back. Monitoring still works."
        )
    st.markdown(
        """
- **At-risk customers**: score a customer file or a generated sample; who is most likely to
  leave, the distribution of churn probabilities, churn by segment and the revenue at risk.
- **What-if**: change one customer's fields and watch the probability and its drivers move.
- **Model**: the production model's metrics, threshold and the latest candidates.
- **Monitoring**: data drift over time and the live service metrics.
"""
    )


render()
