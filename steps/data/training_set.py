"""The training data from the feature store: outcomes joined to the attributes known when each
was observed (`churn.feature_store.offline.training_set_file`), so no later value leaks in."""

from __future__ import annotations

import logging
from typing import Annotated

from zenml import log_metadata, step

from churn.feature_store.offline import training_set_file
from churn.settings import get_settings
from steps.data.ingest import resolve_data_path

logger = logging.getLogger(__name__)


@step
def training_set_from_store(labels_path: str) -> Annotated[str, "training_set_path"]:
    """Write the point-in-time training set under the feature folder; `ingest` reads it."""
    labels = resolve_data_path(labels_path)
    out, report = training_set_file(labels, get_settings())
    log_metadata(
        metadata={"labels": str(labels), "rows": report.rows, "written": report.written,
                  "without_attributes": len(report.missing)}
    )  # fmt: skip
    logger.info("training set %s: %d of %d labels", out, report.written, report.rows)
    return str(out)
