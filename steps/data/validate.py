"""Validate: the schema contract (churn.data) plus an Evidently data quality report.

The contract check streams the file, 100,000 rows at a time through the one row validator (as
`churn validate` does), writing only the valid rows, in their compact types (categoricals, float32
charges: `churn.training.frames`), to one Parquet file, the step's output (`customers`: a
`CustomersFile`, not a DataFrame): memory follows the chunk, not the file. The Evidently report
reads a random sample of `quality_sample_rows` (configs/training.yaml), read back from that file:
its summaries and range checks need no more, and on 1,000,000 rows it cost 72 s. On any violation
the step fails with a readable summary; the HTML report is still saved (as the
`data_quality_report` artifact and under reports/), and nothing downstream runs.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
from zenml import get_step_context, log_metadata, save_artifact, step
from zenml.types import HTMLString

from churn.data import SchemaError, Violation
from churn.schema import TARGET
from churn.settings import get_settings
from churn.training.compact_file import CompactFileWriter, read_rows
from churn.training.sampling import random_positions, random_sample
from churn.training.validation import check_file_in_chunks
from steps.data.customers_file import CustomersFile
from steps.data.quality import quality_report

logger = logging.getLogger(__name__)
REPORT_NAME = "training_data_quality.html"


class DataValidationError(RuntimeError):
    """The training data breaks the contract; the message lists every problem."""


def _write_report(html: str) -> Path:
    out_dir = Path(get_settings().reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_NAME
    path.write_text(html, encoding="utf-8")
    try:
        run_name = get_step_context().pipeline_run.name
        (out_dir / f"training_data_quality-{run_name}.html").write_text(html, encoding="utf-8")
    except RuntimeError:
        pass
    return path


def summary(violations: list[Violation], failed_checks: list[str]) -> str:
    lines = [f"  - {v}" for v in violations]
    lines += [f"  - evidently: {c}" for c in failed_checks]
    return "training data failed validation:\n" + "\n".join(lines)


class RowsRead:
    """Logs the rows read so far (the step logs and the terminal) every 1,000,000 rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.next_log = 0
        self.rows = 0

    def __call__(self, rows: int) -> None:
        self.rows = rows
        if rows >= self.next_log:
            logger.info("validate: %s rows read and checked from %s", f"{rows:,}", self.path.name)
            self.next_log = (rows // 1_000_000 + 1) * 1_000_000


def quality_sample(customers: pd.DataFrame, rows: int | None, seed: int) -> pd.DataFrame:
    """The rows the Evidently report reads, with the label as the file spells it (Yes/No)."""
    return label_as_read(random_sample(customers, rows, seed))


def label_as_read(sample: pd.DataFrame) -> pd.DataFrame:
    """The label as the file spells it (Yes/No), as the data quality report expects it."""
    if TARGET in sample and sample[TARGET].dtype.kind in "iu":
        sample = sample.copy()
        sample[TARGET] = sample[TARGET].map({0: "No", 1: "Yes"}).astype("category")
    return sample


# the materializer by its import path: a class here makes ZenML resolve its source at import,
# which opens (and writes) the repository's and the user's ZenML config (the import side-effect test)
@step(
    enable_cache=False,
    output_materializers="steps.data.customers_file.CustomersFileMaterializer",
)
def validate(
    data_file: str, quality_sample_rows: int | None = None, seed: int = 42
) -> Annotated[CustomersFile, "customers"]:
    path = Path(data_file)
    rows_read = RowsRead(path)
    handle, name = tempfile.mkstemp(prefix="churn-customers-", suffix=".parquet")
    os.close(handle)
    out = Path(name)
    writer = CompactFileWriter(out)
    try:
        result = check_file_in_chunks(path, rows_read=rows_read, keep=writer)
    except BaseException:
        writer.close()
        out.unlink(missing_ok=True)
        raise
    writer.close()
    missing_cols = any(v.problem == "missing column" for v in result.violations)
    if result.violations:  # the first chunk as read, for the report of a failing file
        quality_rows = quality_sample(result.frame, quality_sample_rows, seed)
    else:
        positions = random_positions(writer.rows, quality_sample_rows, seed)
        quality_rows = label_as_read(read_rows(out, {"quality": positions})["quality"])
    quality = quality_report(quality_rows)
    report_path = _write_report(quality.html)
    save_artifact(HTMLString(quality.html), name="data_quality_report")
    failed = quality.failed_checks
    if missing_cols:
        # Evidently cannot check what is absent; the contract check names it.
        failed = [c for c in failed if "missing" not in c.lower()]
    log_metadata(
        metadata={
            "contract_violations": [str(v) for v in result.violations],
            "evidently_checks": quality.checks_run,
            "evidently_failed": failed,
            "report": str(report_path),
            "contract_rows": rows_read.rows,
            "quality_report_rows": len(quality_rows),
            "bytes_per_row": writer.bytes_per_row(),
            "compact_file_bytes": out.stat().st_size,
        }
    )
    if result.violations or failed:
        out.unlink(missing_ok=True)
        message = summary(result.violations, failed) + f"\n(report: {report_path})"
        logger.error(message)
        raise DataValidationError(message)
    logger.info(
        "data valid: %d rows (%.0f bytes a row in memory, %.1f MB as compact Parquet), %d "
        "Evidently checks passed, report %s",
        writer.rows,
        writer.bytes_per_row(),
        out.stat().st_size / 1e6,
        quality.checks_run,
        report_path,
    )
    return CustomersFile(out, writer.rows)


__all__ = ["DataValidationError", "SchemaError", "validate"]
