"""Training helpers in plain scikit-learn: run config, candidates, metrics, threshold choice.

No ZenML, MLflow or BentoML here: the steps in `steps/` wrap these functions.
"""
