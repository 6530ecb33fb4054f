"""The Feast feature repository: the `customer` entity and its feature views (account, services,
billing). Its configuration is built from `churn.settings` in code
(`churn.feature_store.config`), never from a hand-edited `feature_store.yaml`."""

import importlib
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
    # prometheus_client picks its value class (single or multiprocess) once, when first imported:
    # imported here by Feast, after Feast has set the variable, it would stay in multiprocess mode
    # with the variable gone, and the next metric created (BentoML's, a pipeline's package step
    # in the same process) fails. Imported first, before Feast sets anything, it keeps the mode
    # the process had. (Feast's own dependency, not one of this repository's.)
    importlib.import_module("prometheus_client")
    import feast  # noqa: F401

    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
