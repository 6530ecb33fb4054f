"""`churn predict --engine spark`: the same scoring, on Apache Spark (local mode or a cluster).

Why not `bentoml.batch.run_in_spark`: it starts a BentoML HTTP server in every partition and feeds
it through the old io-descriptor API (`api.input.from_arrow`), which our new-style service has no
longer. Here the driver loads the production pipeline from the BentoML store (churn.batch.model),
broadcasts it pickled, and `mapInArrow` unpickles it once per partition and runs each Arrow batch
through the same code as the local engine (`churn.batch.rows.check_chunk`, then the pipeline's
`predict_proba`): the scores are the local path's, bit for bit.

Spark writes a directory of part files (its own layout, readable by pandas, pyarrow and Spark).
Rejected rows stay in it with no score and their reasons in `problems` (Spark has no file line
numbers). pyspark is imported inside the functions only: it is the optional `spark` group.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from churn.batch.files import BatchInputError, file_format
from churn.batch.model import ScoringModel

SPARK_MISSING = (
    "--engine spark needs pyspark, an optional dependency: run `uv sync --group spark` "
    "(and Java 17: apt-get install openjdk-17-jre-headless)"
)
PROBLEMS = "problems"


def spark_available() -> bool:
    return importlib.util.find_spec("pyspark") is not None


def output_schema(names: list[str]) -> pa.Schema:
    from churn.schema import FEATURES, ID_COLUMN, TARGET

    fields: list[tuple[str, pa.DataType]] = []
    if ID_COLUMN in names:
        fields.append((ID_COLUMN, pa.string()))
    for feat in FEATURES:
        kind = pa.string() if feat.kind == "categorical" else pa.float64()
        fields.append((feat.name, pa.int64() if feat.kind in ("integer", "binary") else kind))
    if TARGET in names:
        fields.append((TARGET, pa.string()))
    fields += [
        ("churn_probability", pa.float64()),
        ("churn_prediction", pa.bool_()),
        (PROBLEMS, pa.string()),
    ]
    return pa.schema(fields)


def score_batches(
    batches: Iterator[pa.RecordBatch], payload: bytes, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """What each partition runs: the model unpickled once, then every batch checked and scored."""
    from churn.batch.files import as_strings
    from churn.batch.rows import check_chunk
    from churn.schema import FIRST_DATA_LINE, ID_COLUMN

    model: ScoringModel = pickle.loads(payload)
    for batch in batches:
        table = as_strings(pa.Table.from_batches([batch]))
        chunk = check_chunk(table, FIRST_DATA_LINE)
        if len(chunk.valid_rows):
            proba = model.probabilities(chunk.features)
            scored = chunk.table.append_column("churn_probability", pa.array(proba))
            scored = scored.append_column("churn_prediction", pa.array(proba >= model.threshold))
            scored = scored.append_column(PROBLEMS, pa.nulls(len(proba), pa.string()))
            yield from scored.cast(schema).to_batches()
        if chunk.problems:
            rejected = {
                name: pa.nulls(len(chunk.problems), t)
                for name, t in zip(schema.names, schema.types, strict=True)
            }
            if ID_COLUMN in schema.names:
                rejected[ID_COLUMN] = pa.array([p.customer_id for p in chunk.problems])
            rejected[PROBLEMS] = pa.array([p.reason for p in chunk.problems])
            yield from pa.table(rejected, schema=schema).to_batches()


def session(master: str) -> Any:
    from pyspark.sql import SparkSession

    # local mode: the Python workers are this interpreter (its venv has churn); on a cluster the
    # executors' image sets PYSPARK_PYTHON (docs/scale.md)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master)
        .appName("churn-predict")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )


def predict_with_spark(
    path: Path, out: Path, model: ScoringModel, master: str, partitions: int | None = None
) -> tuple[int, int]:
    """Score `path` into the Spark output directory `out`; (rows scored, rows rejected)."""
    from pyspark.sql.types import StringType, StructField, StructType

    from churn.batch.stream import check_header

    names = check_header(path)
    out_format = file_format(out)
    spark = session(master)
    try:
        if file_format(path) == "parquet":
            frame = spark.read.parquet(str(path))
            frame = frame.select(*(frame[n].cast("string").alias(n) for n in names))
        else:
            strings = StructType([StructField(n, StringType()) for n in names])
            frame = spark.read.csv(str(path), header=True, schema=strings, mode="PERMISSIVE")
        if partitions:
            frame = frame.repartition(partitions)
        schema = output_schema(names)
        payload = spark.sparkContext.broadcast(pickle.dumps(model))

        scored_rows = spark.sparkContext.accumulator(0)
        rejected_rows = spark.sparkContext.accumulator(0)

        def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in score_batches(batches, payload.value, schema):
                rejected = batch.num_rows - batch.column(PROBLEMS).null_count
                rejected_rows.add(rejected)
                scored_rows.add(batch.num_rows - rejected)
                yield batch

        from pyspark.sql.pandas.types import from_arrow_schema

        scored = frame.mapInArrow(score, from_arrow_schema(schema))
        temp = out.with_name(f".{out.name}.partial-{os.getpid()}")
        try:
            writer = scored.write.mode("overwrite")
            if out_format == "parquet":
                writer.parquet(str(temp))
            else:
                writer.option("header", True).csv(str(temp))
            if out.is_dir():
                shutil.rmtree(out)
            elif out.exists():
                out.unlink()
            temp.rename(out)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        return int(scored_rows.value), int(rejected_rows.value)
    except Exception as exc:
        if type(exc).__module__.startswith("pyspark"):
            raise BatchInputError(f"{path}: Spark failed: {_last_line(exc)}") from None
        raise
    finally:
        spark.stop()


def _last_line(exc: BaseException) -> str:
    """The line of a Spark error that says what went wrong (a Python worker's last line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    python = [line for line in lines if "Error:" in line and not line.startswith("at ")]
    return (python or lines or [type(exc).__name__])[-1][:300]
