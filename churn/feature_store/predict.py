"""`churn predict --ids FILE`: score a list of customer IDs from the offline store, as of a time.

The IDs are read in blocks (`offline.ID_BLOCK`); each block's records come from one
point-in-time read of the offline store, typed as `churn predict` types a file's rows, scored
by the same model and written through the same atomic writer. An ID the store does not know at
`as_of` is not scored: it goes to the errors file with its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from churn.batch.files import AtomicWriter
from churn.batch.progress import Progress
from churn.feature_store.offline import ID_BLOCK, id_blocks, known, records_as_of
from churn.schema import FEATURE_NAMES, FEATURES, ID_COLUMN
from churn.settings import Settings

Probabilities = Callable[[pd.DataFrame], np.ndarray]
SCORED_SCHEMA = pa.schema(
    [
        (ID_COLUMN, pa.string()),
        ("churn_probability", pa.float64()),
        ("churn_prediction", pa.bool_()),
    ]
)
ERRORS_SCHEMA = pa.schema([(ID_COLUMN, pa.string()), ("problems", pa.string())])


@dataclass
class IdReport:
    ids: int = 0
    scored: int = 0
    unknown: int = 0
    shown: list[str] | None = None


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The 19 inputs typed as `churn.batch.rows` types a file's rows (categories, int64, float)."""
    out: dict[str, object] = {}
    for feat in FEATURES:
        column = frame[feat.name]
        if feat.kind == "categorical":
            out[feat.name] = pd.Categorical(column, categories=feat.categories)
        elif feat.kind in ("integer", "binary"):
            out[feat.name] = column.astype(np.int64).to_numpy()
        else:
            out[feat.name] = column.astype(np.float64).to_numpy()
    return pd.DataFrame(out)


def known_blocks(
    ids_path: Path, as_of: dt.datetime, settings: Settings, block: int = ID_BLOCK
) -> Iterator[tuple[int, pd.DataFrame, list[str]]]:
    """Block by block of `ids_path`: (how many IDs, the known ones' rows as of `as_of` with
    `customerID` and the 19 inputs, the unknown IDs). One point-in-time read per block."""
    for ids in id_blocks(ids_path, block):
        if not ids:
            continue
        frame = records_as_of(ids, as_of, settings)
        found = known(frame).to_numpy()
        rows = frame.loc[found, [ID_COLUMN, *FEATURE_NAMES]].reset_index(drop=True)
        for name in ("SeniorCitizen", "tenure"):  # a block with unknown IDs had them as floats
            rows[name] = rows[name].astype(np.int64)
        yield len(ids), rows, frame.loc[~found, ID_COLUMN].tolist()


def predict_ids(
    ids_path: Path,
    out: Path,
    errors_path: Path,
    probabilities: Probabilities,
    threshold: float,
    as_of: dt.datetime,
    settings: Settings,
    block: int = ID_BLOCK,
) -> IdReport:
    """Score every ID of `ids_path` known at `as_of` into `out`; the others into `errors_path`."""
    report = IdReport(shown=[])
    progress = Progress(ids_path.stat().st_size, None)
    stamp = f"{as_of:%Y-%m-%dT%H:%M:%SZ}"
    with AtomicWriter(out) as scored, AtomicWriter(errors_path) as errors:
        for count, rows, missing in known_blocks(ids_path, as_of, settings, block):
            if len(rows):
                proba = probabilities(typed(rows))
                scored.write(
                    pa.table(
                        [pa.array(rows[ID_COLUMN], pa.string()), pa.array(proba, pa.float64()),
                         pa.array(proba >= threshold)],
                        schema=SCORED_SCHEMA,
                    )
                )  # fmt: skip
            if missing:
                reason = f"unknown {ID_COLUMN} as of {stamp}"
                errors.write(pa.table([pa.array(missing), pa.array([reason] * len(missing))],
                                      schema=ERRORS_SCHEMA))  # fmt: skip
                report.shown = (report.shown or []) + missing[: 20 - len(report.shown or [])]
            report.ids += count
            report.scored += len(rows)
            report.unknown += len(missing)
            progress.update(count, 0)
        progress.close()
        scored.commit(SCORED_SCHEMA)
        if report.unknown:
            errors.commit(ERRORS_SCHEMA)
    if not report.unknown:
        errors_path.unlink(missing_ok=True)
    return report
