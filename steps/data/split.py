"""Split: the stratified, seeded train/test split, and each stage's capped sample of it.

The split and every sample are planned from the label column alone (`churn.training.sampling.
plan_split`: the same rows as splitting the whole frame and sampling each part), then only the
sampled rows are read from the compact file (`churn.training.compact_file.read_rows`). So the
steps after it hold at most the caps' rows, whatever the size of the base:

- `search_data`: the training split's rows the candidate searches and the threshold read
  (`search_sample_rows`);
- `reference_data`: the training split's rows the split model is fitted on (`refit_sample_rows`),
  also the drift reference monitoring compares live traffic with (it samples it down further);
- `refit_data`: the labelled rows the served model is refitted on (`refit_sample_rows`);
- `test_data`: the test split's rows evaluation and the promotion's paired bootstrap read
  (`bootstrap_sample_rows`);
- `split_rows`: how many rows the base, each part and each sample hold.

A part no larger than its cap is used whole (then `reference_data` is the training split and
`test_data` the test split, as before the caps).
"""

from __future__ import annotations

import logging
from typing import Annotated

import pandas as pd
from zenml import log_metadata, step

from churn.training.compact_file import read_labels, read_rows
from churn.training.sampling import plan_split
from steps.data.customers_file import CustomersFile

logger = logging.getLogger(__name__)


@step
def split(
    customers: CustomersFile,
    test_size: float,
    seed: int,
    search_sample_rows: int | None = None,
    refit_sample_rows: int | None = None,
    bootstrap_sample_rows: int | None = None,
) -> tuple[
    Annotated[pd.DataFrame, "reference_data"],
    Annotated[pd.DataFrame, "test_data"],
    Annotated[pd.DataFrame, "search_data"],
    Annotated[pd.DataFrame, "refit_data"],
    Annotated[dict[str, int], "split_rows"],
]:
    labels = read_labels(customers.path)
    plan = plan_split(
        labels,
        test_size=test_size,
        seed=seed,
        search_cap=search_sample_rows,
        refit_cap=refit_sample_rows,
        bootstrap_cap=bootstrap_sample_rows,
    )
    del labels
    frames = read_rows(
        customers.path,
        {
            "reference": plan.reference,
            "evaluation": plan.evaluation,
            "search": plan.search,
            "refit": plan.refit,
        },
    )
    counts = plan.counts()
    log_metadata(
        metadata={
            "train_rows": plan.train,
            "test_rows": plan.test,
            "rows_read": {k: len(v) for k, v in frames.items()},
            "train_churn_rate": plan.train_churn_rate,
            "test_churn_rate": plan.test_churn_rate,
        }
    )
    logger.info(
        "split: %d train / %d test rows (seed %d); read %d search, %d split-model, %d refit and "
        "%d test rows",
        plan.train,
        plan.test,
        seed,
        len(plan.search),
        len(plan.reference),
        len(plan.refit),
        len(plan.evaluation),
    )
    return frames["reference"], frames["evaluation"], frames["search"], frames["refit"], counts
