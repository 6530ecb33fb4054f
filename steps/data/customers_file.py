"""The `customers` artifact: the valid rows as one compact Parquet file, not a DataFrame.

ZenML's pandas materializer writes a frame as gzip Parquet and loads it whole, and computes its
summaries for the dashboard: at 10,000,000 customers that was minutes of `validate` and `split`
and ~0.7 GB held again by each step that loaded it. This artifact is the file `validate` wrote a
chunk at a time (`churn.training.compact_file`); it is copied into the artifact store as is, and
`split` reads only its label column and the sampled rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from zenml.enums import ArtifactType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

FILE_NAME = "customers.parquet"


@dataclass(frozen=True)
class CustomersFile:
    """A local compact Parquet file of valid customers and its row count."""

    path: Path
    rows: int


class CustomersFileMaterializer(BaseMaterializer):
    """Copies the file into the artifact store (and removes the step's local copy); loads it into
    a temporary folder that ZenML deletes when the consuming step ends."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (CustomersFile,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save(self, data: CustomersFile) -> None:
        fileio.copy(str(data.path), os.path.join(self.uri, FILE_NAME), overwrite=True)
        data.path.unlink(missing_ok=True)  # written by `validate` for this artifact only

    def load(self, data_type: type[Any]) -> CustomersFile:
        import pyarrow.parquet as pq

        with self.get_temporary_directory(delete_at_exit=False) as directory:
            local = Path(directory) / FILE_NAME
            fileio.copy(os.path.join(self.uri, FILE_NAME), str(local))
        return CustomersFile(local, pq.ParquetFile(local).metadata.num_rows)

    def extract_metadata(self, data: CustomersFile) -> dict[str, MetadataType]:
        return {"rows": data.rows}
