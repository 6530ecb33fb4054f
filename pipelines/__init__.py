"""ZenML pipelines: training (pipelines/training.py) and monitoring (pipelines/monitoring.py)."""
