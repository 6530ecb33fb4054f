"""Training at scale on small data: selection on a stratified sample, the contract checked a chunk
at a time with the same answer, and every stage's row count on the model card and in MLflow."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from churn.config_files import ConfigError
from churn.data import clean
from churn.generator import generate, to_csv_text
from churn.schema import ID_COLUMN, TARGET
from churn.training.config import CAP_NAMES, validate_params
from churn.training.frames import bytes_per_row, compact
from churn.training.sampling import rows_by_stage, stratified_sample
from churn.training.validation import check_file_in_chunks, contract_violations
from tests.fixtures.training import TrainedModel

REPO = Path(__file__).resolve().parents[2]


def raw_customers(rows: int, seed: int) -> pd.DataFrame:
    """Generated customers as the strings their CSV holds (what `ingest` hands `validate`)."""
    text = to_csv_text(generate(rows, seed=seed))
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_the_search_sample_keeps_the_churn_rate_and_its_rows_for_a_seed() -> None:
    frame = clean(raw_customers(6000, seed=1)).frame
    sample = stratified_sample(frame, 1500, seed=42)
    assert len(sample) == 1500
    assert abs(sample[TARGET].mean() - frame[TARGET].mean()) < 0.002
    assert set(sample[ID_COLUMN]) <= set(frame[ID_COLUMN])
    assert sample.equals(stratified_sample(frame, 1500, seed=42))
    assert not sample.equals(stratified_sample(frame, 1500, seed=43))
    assert stratified_sample(frame, None, seed=42) is frame  # no budget: every row
    assert stratified_sample(frame, 10_000, seed=42) is frame  # budget above the data


def test_rows_by_stage() -> None:
    assert rows_by_stage(
        labelled=10_000_000,
        train=8_000_000,
        test=2_000_000,
        quality_cap=100_000,
        search_cap=50_000,
        refit_cap=1_000_000,
        bootstrap_cap=100_000,
    ) == {
        "validation_contract": 10_000_000,
        "validation_quality_report": 100_000,
        "model_selection": 50_000,
        "threshold": 50_000,
        "split_model_fit": 1_000_000,
        "test": 2_000_000,
        "evaluation": 100_000,
        "promotion_bootstrap": 100_000,
        "refit": 1_000_000,
    }
    assert set(validate_params({}).caps()) == set(CAP_NAMES)
    small = rows_by_stage(labelled=7043, train=5634, test=1409, quality_cap=None, search_cap=None)
    assert small["model_selection"] == small["split_model_fit"] == 5634
    assert small["evaluation"] == small["test"] == 1409 and small["refit"] == 7043


@pytest.mark.parametrize("chunk_rows", [700, 2000, 5000])
def test_the_file_checked_in_chunks_gives_the_whole_files_answer_in_compact_types(
    chunk_rows: int, tmp_path: Path
) -> None:
    raw = raw_customers(5000, seed=2)
    good = tmp_path / "good.csv"
    raw.to_csv(good, index=False)
    whole = contract_violations(raw)
    chunked = check_file_in_chunks(good, chunk_rows)
    assert whole.violations == chunked.violations == []
    pd.testing.assert_frame_equal(chunked.frame, compact(whole.frame))
    assert chunked.frame["Contract"].dtype == "category"
    assert chunked.frame["MonthlyCharges"].dtype == np.float32
    assert chunked.frame[TARGET].dtype == np.int8
    assert object not in set(chunked.frame.dtypes)  # no Python strings
    assert bytes_per_row(chunked.frame) < 80
    parquet = tmp_path / "good.parquet"
    raw.to_parquet(parquet, index=False)
    pd.testing.assert_frame_equal(check_file_in_chunks(parquet, chunk_rows).frame, chunked.frame)
    bad = raw.copy()
    bad.loc[[3, 4000], "tenure"] = "x"  # the same problem in two chunks: one line, 2 rows
    bad.loc[2500, "Contract"] = "Weekly"
    bad.loc[4999, ID_COLUMN] = bad.loc[1, ID_COLUMN]  # a duplicate across chunks
    bad_file = tmp_path / "bad.csv"
    bad.to_csv(bad_file, index=False)
    found = check_file_in_chunks(bad_file, chunk_rows).violations
    assert found == contract_violations(bad).violations
    assert {str(v) for v in found} >= {
        "tenure: not a number: 'x' (2 rows)",
        f"customerID: duplicated ids: {bad.loc[1, ID_COLUMN]!r} (2 rows)",
    }


def test_a_file_missing_a_column_is_told_every_other_problem_too(tmp_path: Path) -> None:
    raw = raw_customers(1200, seed=3).drop(columns=["PaymentMethod"])
    raw.loc[700, "MonthlyCharges"] = "lots"
    path = tmp_path / "missing.csv"
    raw.to_csv(path, index=False)
    found = {str(v) for v in check_file_in_chunks(path, 500).violations}
    assert found == {
        "PaymentMethod: missing column",
        "MonthlyCharges: not a number: 'lots' (1 rows)",
    }


def test_a_budget_below_the_floor_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="search_sample_rows: Input should be greater than"):
        validate_params({"search_sample_rows": 10})
    assert validate_params({"quality_sample_rows": None}).quality_sample_rows is None


def rows_seen(run: Any) -> dict[str, int]:
    """The rows each step of a training run says it saw, from the run's own step metadata."""
    meta = {name: step.run_metadata for name, step in run.steps.items()}
    return {
        "labelled": int(meta["validate"]["contract_rows"]),
        "quality_report": int(meta["validate"]["quality_report_rows"]),
        "training": int(meta["train_candidates"]["training_rows"]),
        "search": int(meta["train_candidates"]["search_rows"]),
        "split_model_fit": int(meta["train_candidates"]["split_model_rows"]),
        "test": int(meta["evaluate"]["test_rows"]),
        "evaluation": int(meta["evaluate"]["evaluation_rows"]),
        "refit": int(meta["refit"]["refit_rows"]),
        "promotion_bootstrap": int(meta["promote"]["bootstrap_rows"]),
    }


def latest_run() -> Any:
    from zenml.client import Client

    runs = Client().list_pipeline_runs(
        pipeline_name="training_pipeline", sort_by="desc:created", size=1
    )
    return runs.items[0]


def test_the_caps_are_applied_per_step_and_recorded_on_the_card_and_in_mlflow(
    trained_model: TrainedModel,
) -> None:
    import mlflow
    from mlflow import MlflowClient
    from zenml.client import Client
    from zenml.enums import ModelStages

    from churn.model_card import ModelCard
    from churn.settings import get_settings

    version = Client().get_model_version(trained_model.model_name, ModelStages.PRODUCTION)
    card_artifact = version.get_artifact("model_card")
    run = Client().get_pipeline_run(card_artifact.producer_pipeline_run_id)
    seen = rows_seen(run)
    train, test = seen["training"], seen["test"]
    assert train > 3000 and train + test == seen["labelled"]  # the fast config's caps are below
    # configs/training_fast.yaml: search 3000, refit 5000, bootstrap 1000, quality 2000
    assert seen["search"] == 3000
    assert seen["quality_report"] == 2000
    assert seen["split_model_fit"] == min(train, 5000)
    assert seen["refit"] == 5000 < seen["labelled"]
    assert seen["evaluation"] == seen["promotion_bootstrap"] == 1000 < test
    # The split read only these rows from the compact file: no step after it held the base.
    assert run.steps["split"].run_metadata["rows_read"] == {
        "search": 3000,
        "reference": min(train, 5000),
        "refit": 5000,
        "evaluation": 1000,
    }
    assert run.steps["validate"].run_metadata["bytes_per_row"] < 80
    card = card_artifact.load()
    assert isinstance(card, ModelCard)
    assert {k: card.training[k] for k in CAP_NAMES} == {
        "search_sample_rows": 3000,
        "refit_sample_rows": 5000,
        "bootstrap_sample_rows": 1000,
        "quality_sample_rows": 2000,
    }
    assert card.training["rows_by_stage"] == {
        "validation_contract": train + test,
        "validation_quality_report": 2000,
        "model_selection": 3000,
        "threshold": 3000,
        "split_model_fit": min(train, 5000),
        "test": test,
        "evaluation": 1000,
        "promotion_bootstrap": 1000,
        "refit": 5000,
    }
    assert card.training["refit_on_all_rows"] is False
    candidates = version.get_artifact("candidates").load()
    assert candidates.search_rows == 3000
    settings = get_settings()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = MlflowClient()
    mlflow_run = client.get_run(str(card.mlflow_run_id))
    parent = client.get_run(mlflow_run.data.tags.get("mlflow.parentRunId", mlflow_run.info.run_id))
    assert {k: parent.data.params[k] for k in CAP_NAMES} == {
        "search_sample_rows": "3000",
        "refit_sample_rows": "5000",
        "bootstrap_sample_rows": "1000",
        "quality_sample_rows": "2000",
    }
    assert parent.data.metrics["rows_model_selection"] == 3000
    assert parent.data.metrics["rows_split_model_fit"] == min(train, 5000)
    assert parent.data.metrics["rows_refit"] == 5000
    assert parent.data.metrics["rows_evaluation"] == 1000
    assert parent.data.metrics["rows_test"] == test


def test_the_split_plan_takes_the_rows_the_whole_frame_split_and_sampled_would() -> None:
    from sklearn.model_selection import train_test_split

    from churn.training.sampling import plan_split

    frame = compact(clean(raw_customers(6000, seed=4)).frame)
    train, test = train_test_split(frame, test_size=0.2, stratify=frame[TARGET], random_state=7)
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    labelled = pd.concat([train, test], ignore_index=True)
    plan = plan_split(
        frame[TARGET].to_numpy(),
        test_size=0.2,
        seed=7,
        search_cap=1000,
        refit_cap=3000,
        bootstrap_cap=500,
    )
    expected = {
        "search": stratified_sample(train, 1000, seed=7),
        "reference": stratified_sample(train, 3000, seed=7),
        "refit": stratified_sample(labelled, 3000, seed=7),
        "evaluation": stratified_sample(test, 500, seed=7),
    }
    for name, rows in expected.items():
        taken = frame[ID_COLUMN].to_numpy()[getattr(plan, name)]
        assert list(taken) == list(rows[ID_COLUMN]), name  # the same rows, in the same order
    assert plan.counts() == {
        "labelled": 6000,
        "train": 4800,
        "test": 1200,
        "search": 1000,
        "split_model_fit": 3000,
        "refit": 3000,
        "evaluation": 500,
    }
    # A training set below every cap is used whole: each stage gets its whole part.
    whole = plan_split(
        frame[TARGET].to_numpy(),
        test_size=0.2,
        seed=7,
        search_cap=50_000,
        refit_cap=300_000,
        bootstrap_cap=None,
    )
    ids = frame[ID_COLUMN].to_numpy()
    assert list(ids[whole.search]) == list(ids[whole.reference]) == list(train[ID_COLUMN])
    assert list(ids[whole.evaluation]) == list(test[ID_COLUMN])
    assert list(ids[whole.refit]) == list(labelled[ID_COLUMN])


def test_the_compact_file_holds_the_checked_rows_and_gives_back_only_the_sampled_ones(
    tmp_path: Path,
) -> None:
    from churn.training.compact_file import CompactFileWriter, read_labels, read_rows
    from churn.training.sampling import random_positions, random_sample

    raw = raw_customers(5000, seed=5)
    source = tmp_path / "customers.csv"
    raw.to_csv(source, index=False)
    whole = check_file_in_chunks(source, 1200).frame
    writer = CompactFileWriter(tmp_path / "compact.parquet")
    kept = check_file_in_chunks(source, 1200, keep=writer)
    labels = writer.close()
    assert kept.violations == [] and kept.frame.empty  # nothing held: every chunk went to the file
    assert writer.rows == 5000 and abs(writer.bytes_per_row() - bytes_per_row(whole)) < 5
    assert (labels == whole[TARGET].to_numpy()).all()
    assert (read_labels(writer.path) == labels).all()
    import pyarrow.parquet as pq

    assert pq.ParquetFile(writer.path).num_row_groups == 5  # one a chunk: read one at a time
    positions = {"b": np.array([4999, 0, 1200, 17]), "a": np.array([17, 3600])}
    rows = read_rows(writer.path, positions)
    for name, at in positions.items():
        pd.testing.assert_frame_equal(rows[name], whole.take(at).reset_index(drop=True))
    assert rows["a"]["Contract"].dtype == "category" and rows["a"][TARGET].dtype == np.int8
    # The data quality report's sample, drawn from the file as pandas draws it from the frame.
    pd.testing.assert_frame_equal(
        read_rows(writer.path, {"q": random_positions(5000, 700, seed=3)})["q"],
        whole.sample(n=700, random_state=3).reset_index(drop=True),
    )
    assert random_sample(whole, 700, seed=3).equals(
        whole.sample(n=700, random_state=3).reset_index(drop=True)
    )


def test_the_searches_side_by_side_give_the_same_figures_as_one_at_a_time() -> None:
    from churn.training.search import out_of_fold_proba, tune

    frame = compact(clean(raw_customers(2000, seed=6)).frame)
    grid = {"C": [0.1, 1.0]}
    one = tune("logistic_regression", grid, frame, cv_folds=3, seed=5, cv_repeats=2, n_jobs=1)
    two = tune("logistic_regression", grid, frame, cv_folds=3, seed=5, cv_repeats=2, n_jobs=2)
    assert one.cv_fold_scores == two.cv_fold_scores and len(one.cv_fold_scores) == 6
    assert one.best_params == two.best_params
    np.testing.assert_array_equal(
        out_of_fold_proba(one.pipeline, frame, 3, seed=5, n_jobs=1),
        out_of_fold_proba(two.pipeline, frame, 3, seed=5, n_jobs=2),
    )
    with pytest.raises(ConfigError, match="search_jobs: Input should be greater than"):
        validate_params({"search_jobs": 0})


@pytest.mark.parametrize(
    ("rows", "churned", "n_train", "n_test"),
    [(1000, 265, 800, 200), (5003, 1327, 4001, 1002), (997, 3, 50, 947), (12, 6, 7, 5)],
)
def test_the_stratified_draw_is_scikit_learns_in_arrays(
    rows: int, churned: int, n_train: int, n_test: int
) -> None:
    from sklearn.model_selection import train_test_split

    from churn.training.sampling import stratified_draw

    labels = np.zeros(rows, dtype=np.int8)
    labels[np.random.default_rng(rows).choice(rows, churned, replace=False)] = 1
    for seed in (0, 42):
        expected = train_test_split(
            np.arange(rows), train_size=n_train, test_size=n_test, stratify=labels,
            random_state=seed,
        )  # fmt: skip
        got = stratified_draw(labels, n_train, n_test, seed)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
    with pytest.raises(ValueError, match="least populated class"):
        stratified_draw(np.array([0, 0, 0, 1], dtype=np.int8), 2, 2, seed=1)
