"""Promotion: compare with production on the same test split, ZenML stage, MLflow alias."""
