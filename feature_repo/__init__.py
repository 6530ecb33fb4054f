"""The Feast feature repository: the `customer` entity and its feature views (account, services,
billing). Its configuration is built from `churn.settings` in code
(`churn.feature_store.config`), never from a hand-edited `feature_store.yaml`."""

import os
import sys

_PROMETHEUS_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROCESS_DIR")


def import_feast() -> None:
    """Import Feast once, leaving the process's Prometheus mode as it was.

    `import feast` (feast.metrics) makes a temporary folder and sets PROMETHEUS_MULTIPROC_DIR when
    it is unset, which turns every later `prometheus_client` user of the process (the Flask UI's
    `/metrics`, a CLI's registry) into multiprocess mode. Every Feast import here goes first
    through this call."""
    if "feast" in sys.modules:
        return
    saved = {name: os.environ.get(name) for name in _PROMETHEUS_VARIABLES}
    import feast  # noqa: F401

    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
