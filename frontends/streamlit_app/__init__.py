"""The Streamlit dashboard (multipage): at-risk customers, what-if, model, monitoring.

Run it with `streamlit run frontends/streamlit_app/Home.py` (`make ui`). Pages are thin; the logic
lives in the small modules beside them so it can be tested without a browser.
"""
