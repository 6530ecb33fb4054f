"""Training steps: candidates (GridSearchCV + MLflow), threshold, evaluation."""
