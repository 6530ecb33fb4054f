"""Feast's import leaves the process's Prometheus mode alone (feature_repo.import_feast): left to
itself, `import feast` sets PROMETHEUS_MULTIPROC_DIR, and the Flask UI's `/metrics` in the same
process would then read only the (empty) multiprocess files."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_feature_store_does_not_switch_prometheus_to_multiprocess_mode() -> None:
    code = (
        "import os\n"
        "from churn.feature_store.online import online_records\n"
        "from feature_repo.customer import customer\n"
        "customer()\n"
        "import feast, feast.metrics\n"
        "from prometheus_client import Gauge\n"
        "Gauge('churn_probe', 'a metric made after Feast: single-process mode').set(1)\n"
        "print(os.environ.get('PROMETHEUS_MULTIPROC_DIR', 'unset'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_MULTIPROC")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "unset"
    bare = subprocess.run(
        [sys.executable, "-c", "import os, feast; print(os.environ['PROMETHEUS_MULTIPROC_DIR'])"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bare.returncode == 0 and "feast_metrics_" in bare.stdout  # what the call prevents
