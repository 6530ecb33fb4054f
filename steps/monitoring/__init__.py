"""ZenML steps of the monitoring pipeline (`pipelines/monitoring.py`).

`evidently_report` holds the Evidently code and imports no ZenML, so it is tested quickly; the
step modules (`load`, `analyse`, `retrain`) are thin wrappers.
"""
