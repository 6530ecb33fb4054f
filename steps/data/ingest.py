"""Ingest: locate the training file and fingerprint it (md5, size, format), reading it in pieces.

The rows themselves are read once, a chunk at a time, by `validate` (the row validator types them
into a compact frame as it goes): no step holds the file as strings.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Annotated

from zenml import log_metadata, step

from churn.batch.files import file_format
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
) -> tuple[Annotated[str, "data_file"], Annotated[str, "data_md5"]]:
    """The resolved path and md5 of the file; a readable error for a missing or empty one."""
    path = resolve_data_path(data_path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty")
    fmt = file_format(path)  # a readable error for a suffix that is neither CSV nor Parquet
    md5 = file_md5(path)
    size = path.stat().st_size
    log_metadata(metadata={"data_path": str(path), "data_md5": md5, "bytes": size, "format": fmt})
    logger.info("ingest %s (%s, %.1f MB), md5 %s", path, fmt, size / 1e6, md5)
    return str(path), md5
