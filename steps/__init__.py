"""ZenML steps, grouped by stage: data/, train/, promote/, package/ (and monitoring/)."""
