"""Drift monitoring logic that needs only pandas and numpy.

The ZenML steps in `steps/monitoring/` wrap these helpers and add Evidently; nothing here imports
zenml or evidently, so the decision rules, the config and the exports are tested in milliseconds.
"""
