"""The Feast feature store: its configuration from `churn.settings`, ingesting extracts, and
reading customers by ID online (`online.online_records`) and as of a time (`offline`).

A control-plane layer beside `churn.control` (docs/ARCHITECTURE.md): it may import Feast, the
feature repository (`feature_repo/`) and the core; the service, the CLI and the steps import it.
"""
