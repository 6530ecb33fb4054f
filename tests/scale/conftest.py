"""Scale fixtures: a model in the session's BentoML store, customer files with bad rows in them.

The model is the family `make run` ships, fitted and saved by the pipeline's own code
(tests/fixtures/promotable.py) under a version name of its own, so a test can tell that the
service answering is serving it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from churn.generator import generate, to_csv_text
from tests.fixtures.launcher import RunningService, start_service
from tests.fixtures.promotable import SHIPPED_FAMILY, reference_frame, save_candidate

SCALE_VERSION = "scale-1"
BAD_EVERY = 100
"""One bad row in every 100 of `customers_csv` (the issue's 10M file has one in 1,000)."""


@pytest.fixture(scope="module")
def scale_model() -> str:
    """The tag of the model a module scores with (`churn predict --model TAG`); saved per module,
    so that it is the store's newest when the module's service starts."""
    model = save_candidate(SHIPPED_FAMILY, reference_frame(), version=SCALE_VERSION)
    return str(model.tag)


def with_bad_rows(text: str, every: int = BAD_EVERY) -> str:
    """The CSV with one broken row in every `every` (cycling through kinds of fault)."""
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    faults = [("tenure", "-3"), ("Contract", "Forever"), ("MonthlyCharges", "lots"),
              ("TotalCharges", ""), ("gender", "")]  # fmt: skip
    for k, row in enumerate(range(every // 2, len(raw), every)):
        column, value = faults[k % len(faults)]
        raw.loc[row, column] = value
    return raw.to_csv(index=False, lineterminator="\n")


@pytest.fixture(scope="session")
def customers_csv(session_dir: Path) -> Path:
    """3,000 generated customers, 30 of them broken."""
    path = session_dir / "scale" / "customers.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(with_bad_rows(to_csv_text(generate(3000, seed=11))))
    return path


@pytest.fixture(scope="module")
def scale_service(scale_model: str, session_dir: Path) -> Iterator[RunningService]:
    """The real service (1 worker) serving `scale_model` as the store's newest model."""
    name = f"scale-service-{len(list(session_dir.iterdir()))}"
    running = start_service(
        env={
            "CHURN_PREDICTION_DB": f"sqlite:///{session_dir / f'{name}.db'}",
            "CHURN_SERVICE_WORKERS": "1",
        },
        log_path=session_dir / f"{name}.log",
    )
    try:
        yield running
    finally:
        running.stop()
