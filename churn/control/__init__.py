"""The control plane's model half: the registry facade over ZenML, MLflow and the BentoML store.

`churn.control.registry` changes which model is in production (promote, roll back: all stores or
none, with the serving state and the audit row); `churn.control.models` reads and writes one store
at a time. Its SQL half is `churn.db`. Steps, pipelines, the service and the CLI call these; they
call nothing above them (the import contracts in pyproject.toml, docs/ARCHITECTURE.md).
"""
