"""User-facing frontends (Flask ops UI, Streamlit dashboard); they reach the model by HTTP."""
