"""The valid training rows as one compact Parquet file, so that no step holds the whole base.

The validate step writes each checked chunk to it as one row group (the compact types of
`churn.training.frames`, zstd), keeping only the label column in memory (1 byte a row). The split
reads the label column back, plans every stage's sample from it (`churn.training.sampling.
plan_split`) and reads only the sampled rows, a row group at a time: the steps after ingest hold
the capped rows, not the base (at 10,000,000 customers the compact frame alone was ~0.7 GB, and
each step that loaded it from the artifact store held it again with its Parquet buffers).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churn.schema import TARGET
from churn.training.frames import compact


class CompactFileWriter:
    """Called with each valid compact chunk (`check_file_in_chunks(keep=...)`): appends it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self.memory_bytes = 0  # of the chunks as frames (the bytes a row the step reports)
        self._writer: pq.ParquetWriter | None = None
        self._labels: list[np.ndarray] = []

    def __call__(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._writer.write_table(table, row_group_size=max(len(frame), 1))
        self._labels.append(frame[TARGET].to_numpy(dtype=np.int8))
        self.rows += len(frame)
        self.memory_bytes += int(frame.memory_usage(deep=True).sum())

    def close(self) -> np.ndarray:
        """Finish the file; the labels of its rows, in order."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return np.concatenate(self._labels) if self._labels else np.zeros(0, dtype=np.int8)

    def bytes_per_row(self) -> float:
        return self.memory_bytes / max(self.rows, 1)


def read_labels(path: Path) -> np.ndarray:
    """The label column of a compact file (0/1, int8), without reading any other column."""
    column = pq.read_table(path, columns=[TARGET]).column(TARGET)
    return np.asarray(column.to_numpy(), dtype=np.int8)


def read_rows(path: Path, samples: Mapping[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    """For each name, the rows at its positions (in that order) as a compact frame.

    Each row group is read once and only the wanted rows of it are kept, so memory is one row
    group plus the union of the samples, whatever the file's length.
    """
    wanted = [np.asarray(p, dtype=np.int64) for p in samples.values()]
    union = np.unique(np.concatenate(wanted)) if wanted else np.zeros(0, dtype=np.int64)
    parquet = pq.ParquetFile(path)
    pieces: list[pa.Table] = []
    start = 0
    for group in range(parquet.num_row_groups):
        rows = parquet.metadata.row_group(group).num_rows
        low, high = np.searchsorted(union, [start, start + rows])
        if high > low:
            taken = pa.array(union[low:high] - start)
            pieces.append(parquet.read_row_group(group).take(taken))
        start += rows
    table = pa.concat_tables(pieces) if pieces else parquet.schema_arrow.empty_table()
    frame = compact(table.to_pandas())
    return {
        name: frame.take(np.searchsorted(union, positions)).reset_index(drop=True)
        for name, positions in zip(samples, wanted, strict=True)
    }
