"""The training pipeline end to end, in the session's isolated ZenML/MLflow/BentoML stores.

One `trained_model` run (the shared fixture), then: a second run on the same data under a quality
floor it cannot reach (not promoted although the evidence rule is switched off), a run on a broken
CSV (fails at validate, production untouched), a promoted run and a rollback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from churn.cli import main
from churn.settings import get_settings
from tests.fixtures.training import TrainedModel, run_fast_training

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]
REPO = Path(__file__).resolve().parents[2]


def _production():
    from churn.control.registry import production_version

    return production_version(get_settings().model_name)


def _config(tmp_path: Path, name: str, **parameters: object) -> Path:
    """configs/training_fast.yaml with some parameters replaced."""
    raw = yaml.safe_load((REPO / "configs/training_fast.yaml").read_text())
    raw["parameters"].update(parameters)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


# Promote on any paired result, even a tie: only the floor can refuse.
NO_EVIDENCE_NEEDED = {"min_share_better": 0.0, "min_difference_ci_low": -1.0}


def _status(capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["model", "status"]) == 0
    return json.loads(capsys.readouterr().out)


def test_first_run_is_promoted_and_packaged(trained_model: TrainedModel) -> None:
    import bentoml
    from zenml.client import Client
    from zenml.enums import ModelStages

    from churn.model_card import ModelCard

    production = _production()
    assert production is not None and production.name == trained_model.model_version
    promotion = production.run_metadata["promotion"]
    assert promotion["promoted"] is True
    assert "first version" in promotion["reason"]
    # The packaged BentoML model is the production version, with its model card. (Other test
    # modules save stand-in `telco_churn` models into the same session store, so look it up by the
    # tag the pipeline recorded rather than by `latest`; the rollback test checks `latest`.)
    recorded = str(production.run_metadata.get("bento_model_tag", ""))
    assert recorded == trained_model.bento_model_tag
    stored = bentoml.models.get(recorded)
    card = ModelCard.from_metadata(stored.info.metadata)
    assert card.model_version == trained_model.model_version
    assert stored.info.labels["stage"] == "production"
    assert {c.name for c in card.candidates} == {
        "logistic_regression",
        "random_forest",
        "hist_gradient_boosting",
        "lightgbm",
    }
    # The served model is the chosen candidate refit on the labelled rows (5000 of them in
    # configs/training_fast.yaml: tests/training/test_scale.py); the split model (the one the test
    # figures are about) is kept for the next run's paired comparison.
    # The split's artifacts are the capped samples: the split model's fit rows (also the drift
    # reference) and the test rows evaluation and the promotion read.
    reference = production.get_artifact("reference_data").load()
    stages = card.training["rows_by_stage"]
    train = stages["validation_contract"] - stages["test"]
    assert card.training["rows"] == stages["validation_contract"] >= 6000
    assert len(reference) == card.training["split_model_rows"] == min(train, 5000)
    assert len(trained_model.test_data) == stages["evaluation"] == 1000 < stages["test"]
    split_model = production.get_artifact("split_model").load()
    served = production.get_artifact("churn_model").load()
    assert type(split_model.named_steps["model"]) is type(served.named_steps["model"])
    assert split_model.get_params(deep=False).keys() == served.get_params(deep=False).keys()
    X_test = trained_model.test_data.drop(columns=["Churn", "customerID"])
    assert not (split_model.predict_proba(X_test) == served.predict_proba(X_test)).all()
    assert promotion["rule"]["above_floor"] is True
    chosen = max(card.candidates, key=lambda c: c.cv_roc_auc)
    assert card.model_type == chosen.name  # chosen by CV ROC-AUC
    assert 0 < trained_model.threshold < 1
    assert trained_model.metrics["roc_auc"] > 0.75
    # Monitoring loads the reference data exactly like this.
    reference = (
        Client()
        .get_model_version(trained_model.model_name, ModelStages.PRODUCTION)
        .get_artifact("reference_data")
        .load()
    )
    assert len(reference) > len(trained_model.test_data) > 0
    assert set(reference["customerID"]).isdisjoint(trained_model.test_data["customerID"])
    # The fast exact path of the contract holds for the packaged pipeline.
    pipeline = stored.load_model()
    sample = trained_model.test_data.drop(columns=["Churn", "customerID"]).head(20)
    fast = pipeline.named_steps["model"].predict_proba(
        pipeline.named_steps["encode"].encode_records(sample.to_dict(orient="records"))
    )
    assert (fast == pipeline.predict_proba(sample)).all()
    if (REPO / "bentofile.yaml").exists():
        # By the recorded tag: serving's tests build Bentos of their own in the same store.
        bento = bentoml.bentos.get(str(production.run_metadata["bento_tag"]))
        assert bento.tag.name == get_settings().bento_name
        assert str(stored.tag) in {str(m.tag) for m in bento.info.all_models}


def test_mlflow_has_parent_nested_runs_plots_and_champion(trained_model: TrainedModel) -> None:
    import mlflow
    from mlflow import MlflowClient

    settings = get_settings()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    nested = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    parents = {r.data.tags["mlflow.parentRunId"] for r in nested}
    assert {r.data.tags["mlflow.runName"] for r in nested} >= {
        "logistic_regression",
        "random_forest",
        "hist_gradient_boosting",
        "lightgbm",
    }
    parent = next(r for r in runs if r.info.run_id in parents)
    assert "test_roc_auc" in parent.data.metrics and "threshold" in parent.data.metrics
    assert parent.data.metrics["refit_rows"] > parent.data.metrics["refit_split_model_rows"]
    for run in nested:  # calibration per candidate: Brier and an out-of-fold reliability plot
        assert 0 < run.data.metrics["cv_brier"] < 0.25
        assert 0 < run.data.metrics["oof_brier"] < 0.25
        assert "cv_roc_auc_repeat_std" in run.data.metrics
        reliability = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert reliability == {"plots/reliability.png"}
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert plots == {"plots/confusion_matrix.png", "plots/roc_curve.png", "plots/calibration.png"}
    assert all("cv_roc_auc" in r.data.metrics for r in nested)
    champion = client.get_model_version_by_alias(settings.model_name, "champion")
    assert champion.tags["zenml_version"] == trained_model.model_version


def test_run_under_the_floor_is_never_promoted(
    trained_model: TrainedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import bentoml

    before = bentoml.models.get(f"{trained_model.model_name}:latest").tag
    # Same data: the same model. The evidence rule would promote it; the floor must not.
    config = _config(
        tmp_path,
        "floor.yaml",
        promotion=NO_EVIDENCE_NEEDED,
        quality_floor={"min_test_roc_auc": 0.99, "min_test_accuracy": 0.5},
    )
    run_fast_training(trained_model.data_path, config)
    status = _status(capsys)
    assert status["production"]["version"] == trained_model.model_version
    latest = status["versions"][0]
    assert latest["stage"] == "staging"
    promotion = latest["promotion"]
    assert promotion["promoted"] is False
    # `churn model status` says why, with the numbers.
    roc_auc = latest["test_metrics"]["roc_auc"]
    assert promotion["reason"].startswith("not promoted: under the quality floor")
    assert f"test ROC-AUC {roc_auc:.4f} < floor 0.99" in promotion["reason"]
    assert promotion["rule"]["above_floor"] is False
    assert promotion["rule"]["floor"] == {"min_test_roc_auc": 0.99, "min_test_accuracy": 0.5}
    assert promotion["production_roc_auc"] == pytest.approx(roc_auc)
    # Same data, same seed: the same split model, so every paired resample is a tie (recorded).
    paired = promotion["paired_bootstrap"]
    assert paired["difference_ci_low"] == pytest.approx(0.0, abs=1e-9)
    assert paired["difference_ci_high"] == pytest.approx(0.0, abs=1e-9)
    assert paired["share_new_better"] == 0.0
    assert "95% paired bootstrap of the difference" in promotion["reason"]
    assert bentoml.models.get(f"{trained_model.model_name}:latest").tag == before


def _broken_csv(source: Path, out: Path) -> Path:
    raw = pd.read_csv(source, dtype=str, keep_default_na=False).head(400)
    raw = raw.drop(columns=["PaymentMethod"])
    raw.loc[3, "MonthlyCharges"] = "lots"
    raw.loc[[5, 6], "Churn"] = "Maybe"
    raw.to_csv(out, index=False)
    return out


def test_broken_csv_fails_at_validate_and_keeps_production(
    trained_model: TrainedModel, session_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _broken_csv(trained_model.data_path, session_dir / "broken.csv")
    capsys.readouterr()
    code = main(
        ["train", "--config", str(REPO / "configs/training_fast.yaml"), "--data", str(broken)]
    )
    err = capsys.readouterr().err
    assert code == 1  # the run failed (2 is for a wrong command line)
    assert "step validate" in err
    assert "PaymentMethod: missing column" in err
    assert "MonthlyCharges: not a number: 'lots'" in err
    assert "Churn: labels must be Yes/No, found 'Maybe'" in err
    production = _production()
    assert production is not None and production.name == trained_model.model_version
    report = Path(get_settings().reports_dir) / "training_data_quality.html"
    assert report.exists() and report.stat().st_size > 10_000

    from zenml.client import Client

    run = (
        Client()
        .list_pipeline_runs(pipeline_name="training_pipeline", sort_by="desc:created", size=1)
        .items[0]
    )
    assert (
        str(getattr(run.steps["validate"].status, "value", run.steps["validate"].status))
        == "failed"
    )
    assert (
        "split" not in run.steps
        or str(getattr(run.steps["split"].status, "value", run.steps["split"].status))
        != "completed"
    )
    assert Client().get_artifact_version("data_quality_report") is not None


def test_predict_scores_file_and_reports_bad_rows(
    trained_model: TrainedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = pd.read_csv(trained_model.data_path, dtype=str, keep_default_na=False).head(30)
    raw = raw.drop(columns=["Churn"])
    raw.loc[4, "tenure"] = "-3"
    raw.loc[9, "Contract"] = "Forever"
    src = tmp_path / "in.csv"
    raw.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    capsys.readouterr()
    assert main(["predict", str(src), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "2 row(s) failed validation" in err
    assert "line 6: tenure" in err and "line 11: Contract" in err  # file lines: header is 1
    scored = pd.read_csv(out)
    assert len(scored) == 28
    assert scored["churn_probability"].between(0, 1).all()
    expected = scored["churn_probability"] >= trained_model.threshold
    assert (scored["churn_prediction"] == expected).all()
    errors = pd.read_csv(out.with_suffix(".errors.csv"))
    assert list(errors["line"]) == [6, 11]


def test_rollback_restores_previous_production(
    trained_model: TrainedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import bentoml
    import mlflow
    from mlflow import MlflowClient

    from churn.model_card import ModelCard

    # Same data and grids with no evidence needed: an equal model above the floor is promoted.
    run_fast_training(
        trained_model.data_path, _config(tmp_path, "lenient.yaml", promotion=NO_EVIDENCE_NEEDED)
    )
    promoted = _production()
    assert promoted is not None and promoted.name != trained_model.model_version
    assert promoted.run_metadata["previous_production_version"] == trained_model.model_version
    # The promote step's one change also saved the BentoML model and pointed the serving state
    # (what running services serve) at it, with its audit row.
    from churn.db import audit, serving_state

    state = serving_state.read(trained_model.model_name)
    assert state is not None and state.production_version == promoted.name
    assert state.production_tag == promoted.run_metadata["bento_model_tag"]
    assert bentoml.models.get(state.production_tag).info.labels["zenml_version"] == promoted.name
    row = audit.recent(1, actions=["promote"])[0]
    assert (row.source, row.from_version, row.to_version) == (
        "pipeline",
        trained_model.model_version,
        promoted.name,
    )

    capsys.readouterr()
    assert main(["rollback"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["from_version"] == promoted.name
    assert result["to_version"] == trained_model.model_version
    # ZenML
    production = _production()
    assert production is not None and production.name == trained_model.model_version
    # MLflow alias
    mlflow.set_tracking_uri(get_settings().mlflow_tracking_uri)
    champion = MlflowClient().get_model_version_by_alias(get_settings().model_name, "champion")
    assert champion.tags["zenml_version"] == trained_model.model_version
    # BentoML store: latest is the restored version again
    latest = bentoml.models.get(f"{trained_model.model_name}:latest")
    assert (
        ModelCard.from_metadata(latest.info.metadata).model_version == trained_model.model_version
    )
    # Nothing further back to roll back to.
    assert main(["rollback"]) == 1
    assert "no previous production version" in capsys.readouterr().err


def test_real_data_single_split_quality(trained_model: TrainedModel) -> None:
    """One split's figures (seed 42 is an unlucky split: see test_real_data_quality.py)."""
    if not trained_model.is_real_data:
        pytest.skip("real data not present")
    assert trained_model.metrics["roc_auc"] >= 0.82
    assert trained_model.metrics["accuracy_at_0_5"] >= 0.78


def test_evaluation_records_bootstrap_intervals(trained_model: TrainedModel) -> None:
    m = trained_model.metrics
    assert m["roc_auc_ci_low"] < m["roc_auc"] < m["roc_auc_ci_high"]
    assert m["accuracy_at_0_5_ci_low"] < m["accuracy_at_0_5"] < m["accuracy_at_0_5_ci_high"]
    # A ~1,200-row test split: the 95% ROC-AUC interval is a few hundredths wide.
    assert 0.02 < m["roc_auc_ci_high"] - m["roc_auc_ci_low"] < 0.1


def test_step_artifacts_load_back_as_typed_models(trained_model: TrainedModel) -> None:
    """ZenML stores the steps' pydantic artifacts with its PydanticMaterializer: loading one back
    gives the model, and the figures agree across the steps that passed them on."""
    from zenml.client import Client

    from churn.artifacts import Candidates, RefitSummary, TestMetrics
    from churn.control.registry import card_of
    from churn.model_card import ModelCard
    from pipelines.retrain import promote_outputs

    version = Client().get_model_version(trained_model.model_name, trained_model.model_version)

    def load(name: str) -> object:
        artifact = version.get_artifact(name)
        assert artifact is not None, f"model version {version.name} has no {name!r} artifact"
        return artifact.load()

    metrics = load("test_metrics")
    assert isinstance(metrics, TestMetrics)
    assert metrics.as_floats() == trained_model.metrics  # the card the service reads
    candidates = load("candidates")
    assert isinstance(candidates, Candidates)
    card = load("model_card")
    assert isinstance(card, ModelCard) and card == card_of(version)
    assert card.model_type == candidates.chosen.name
    assert [c.name for c in card.candidates] == [c.name for c in candidates.candidates]
    refit = load("refit_summary")
    assert isinstance(refit, RefitSummary) and refit.rows_by_stage["refit"] == 5000
    assert refit.rows == card.training["rows"] and refit.model_uri
    assert load("promoted") is True
    # The promote step saved the served model to the BentoML store inside its all-or-nothing
    # change; the package step only builds the Bento.
    assert load("bento_model") == trained_model.bento_model_tag

    # What retraining reads: the promote step's outputs of the run, found by its model version.
    runs = Client().list_pipeline_runs(
        pipeline_name="training_pipeline", model_version_id=version.id, size=2
    )
    assert len(runs.items) == 1
    assert promote_outputs(runs.items[0]) == (True, card)
