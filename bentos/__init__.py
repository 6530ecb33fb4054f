"""The BentoML service that serves the churn model (see docs/serving.md)."""
