"""Ingest: read the CSV as the raw strings it holds; record md5, rows and churn rate."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Annotated

import pandas as pd
from zenml import log_metadata, step

from churn.data import read_raw
from churn.schema import TARGET
from churn.settings import REPO_ROOT

logger = logging.getLogger(__name__)


def resolve_data_path(data_path: str) -> Path:
    """Relative paths are relative to the repository root (where the run config lives)."""
    path = Path(data_path).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@step
def ingest(
    data_path: str,
) -> tuple[Annotated[pd.DataFrame, "raw_data"], Annotated[str, "data_md5"]]:
    """Read the file unparsed (strings); cleaning and the contract checks belong to `validate`."""
    path = resolve_data_path(data_path)
    raw = read_raw(path)  # raises a readable error for a missing, empty or unreadable file
    md5 = file_md5(path)
    churn_rate = float((raw[TARGET].str.strip() == "Yes").mean()) if TARGET in raw else None
    metadata: dict = {"data_path": str(path), "data_md5": md5, "rows": len(raw)}
    if churn_rate is not None:
        metadata["churn_rate"] = churn_rate
    log_metadata(metadata=metadata)
    logger.info("ingested %s: %d rows, md5 %s, churn rate %s", path, len(raw), md5, churn_rate)
    return raw, md5
