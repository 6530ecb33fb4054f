"""`churn model promote`, `churn rollback` and `churn audit` on real ZenML, MLflow and BentoML
stores (the session's isolated ones), with the session's trained version in production and one
more version trained on the same data (a tie, so the pipeline leaves it in staging).

A change that fails halfway is made to fail for real: after each registry in turn (the hook the
code exposes), and by the audit database refusing the insert (a trigger).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from churn.cli import main
from churn.db.audit import default_actor, recent
from churn.settings import get_settings
from tests.fixtures.training import FAST_CONFIG, TrainedModel, run_fast_training

CHANGES = ("promote", "rollback")
"""The audit actions of a production change (a running service also writes "switch" rows)."""

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]


class InjectedFailure(RuntimeError):
    pass


def _state() -> dict[str, Any]:
    """What each registry says now, and how many audit rows there are."""
    import bentoml
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from churn.control.registry import production_version

    name = get_settings().model_name
    production = production_version(name)
    mlflow.set_tracking_uri(get_settings().mlflow_tracking_uri)
    mlflow.set_registry_uri(get_settings().mlflow_tracking_uri)
    try:
        champion = MlflowClient().get_model_version_by_alias(name, "champion")
        champion_of = champion.tags.get("zenml_version")
    except MlflowException:
        champion_of = None
    from churn.db import serving_state

    serving = serving_state.read(name)
    return {
        "production": production.name if production is not None else None,
        "serving": serving.key() if serving is not None else None,
        "champion": champion_of,
        "bento_models": sorted(str(m.tag) for m in bentoml.models.list(name)),
        "bento_latest": str(bentoml.models.get(f"{name}:latest").tag),
        # a service another test left running on the session's database audits its own "switch"
        # rows when production changes: only the lifecycle changes themselves are counted
        "audit_rows": len([e for e in recent(10_000) if e.action != "switch"]),
    }


def _stage(version: str) -> str:
    from zenml.client import Client

    stage = Client().get_model_version(get_settings().model_name, version).stage
    return str(getattr(stage, "value", stage))


def _bento_latest_version() -> str:
    import bentoml

    from churn.model_card import ModelCard

    latest = bentoml.models.get(f"{get_settings().model_name}:latest")
    return ModelCard.from_metadata(latest.info.metadata).model_version


@pytest.fixture(scope="module")
def staging_version(trained_model: TrainedModel) -> str:
    """A second version from the fast config on the same data: equal to production, not promoted."""
    from zenml.client import Client

    run_fast_training(trained_model.data_path, FAST_CONFIG)
    latest = Client().list_model_versions(
        model=get_settings().model_name, sort_by="desc:number", size=1
    )
    name = str(latest.items[0].name)
    assert _stage(name) == "staging"
    return name


def test_pipeline_promotion_is_audited(trained_model: TrainedModel) -> None:
    pipeline = [
        e
        for e in recent(10_000)
        if (e.action, e.source) == ("promote", "pipeline")
        and e.to_version == trained_model.model_version
    ]
    assert len(pipeline) == 1
    event = pipeline[0]
    assert event.action == "promote"
    assert event.actor == default_actor()
    assert event.reason.startswith("first version")
    assert event.from_version is None


def test_unknown_version_is_refused(
    trained_model: TrainedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _state()
    capsys.readouterr()
    assert main(["model", "promote", "no-such-version", "--reason", "try"]) == 1
    assert "has no version 'no-such-version'" in capsys.readouterr().err
    assert _state() == before


def test_version_under_the_floor_is_refused(
    staging_version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load(FAST_CONFIG.read_text())
    raw["parameters"]["quality_floor"] = {"min_test_roc_auc": 0.99, "min_test_accuracy": 0.5}
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(raw))
    before = _state()
    capsys.readouterr()
    code = main(["model", "promote", staging_version, "--reason", "x", "--config", str(strict)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"version {staging_version} is under the quality floor" in err
    assert "< floor 0.99" in err
    assert _state() == before
    assert _stage(staging_version) == "staging"


def test_the_production_version_is_refused(
    trained_model: TrainedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    production = _state()["production"]
    capsys.readouterr()
    assert main(["model", "promote", production, "--reason", "again"]) == 1
    assert "is already in production" in capsys.readouterr().err


@pytest.mark.parametrize("after", ["zenml", "mlflow", "bentoml", "serving_state"])
def test_a_failure_halfway_puts_every_registry_back(staging_version: str, after: str) -> None:
    from churn.control.registry import ChangeFailed, promote_by_hand
    from churn.training.promotion import QualityFloor

    def hook(changed: str) -> None:
        if changed == after:
            raise InjectedFailure(f"injected after {changed}")

    before = _state()
    with pytest.raises(ChangeFailed, match=f"injected after {after}") as caught:
        promote_by_hand(staging_version, "r", "tester", QualityFloor(), after_change=hook)
    assert isinstance(caught.value.__cause__, InjectedFailure)
    assert _state() == before
    assert _stage(staging_version) == "staging"
    assert _stage(before["production"]) == "production"


def test_an_audit_that_cannot_be_written_puts_every_registry_back(
    staging_version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real failure in a real store: the project database refuses the audit row (a trigger),
    after ZenML, MLflow and BentoML have all changed."""
    engine = sa.create_engine(get_settings().prediction_db)
    trigger = (
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'injected audit fault'); END"
    )
    before = _state()
    with engine.begin() as conn:
        conn.execute(sa.text(trigger))
    try:
        capsys.readouterr()
        assert main(["model", "promote", staging_version, "--reason", "audit down"]) == 1
        err = capsys.readouterr().err
        assert "injected audit fault" in err and "every registry was put back" in err
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER fail_audit"))
        engine.dispose()
    assert _state() == before
    assert _stage(staging_version) == "staging"


def test_promote_by_hand_then_roll_back_with_audit(
    staging_version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from churn.control.registry import ChangeFailed, rollback

    before = _state()
    previous = before["production"]
    capsys.readouterr()
    code = main(
        ["model", "promote", staging_version, "--reason", "reviewed by hand", "--actor", "alice"]
    )
    assert code == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    assert (result["from_version"], result["to_version"]) == (previous, staging_version)
    promoted = _state()
    assert promoted["production"] == staging_version
    assert promoted["champion"] == staging_version
    # every running service is told: the serving state names the new model, no experiment
    assert promoted["serving"] == (result["bento_model"], "none", None, None, None)
    assert _bento_latest_version() == staging_version
    assert promoted["bento_latest"] == result["bento_model"]
    assert _stage(previous) == "archived"
    # the newest change: a running service's "switch" rows may land after it
    newest = recent(1, actions=CHANGES)[0]
    assert (newest.action, newest.source, newest.actor) == ("promote", "cli", "alice")
    assert (newest.from_version, newest.to_version) == (previous, staging_version)
    assert newest.reason == "reviewed by hand"

    # A rollback that fails after MLflow has changed leaves the promoted state as it was.
    def hook(changed: str) -> None:
        if changed == "mlflow":
            raise InjectedFailure("injected after mlflow")

    with pytest.raises(ChangeFailed):
        rollback(reason="r", after_change=hook)
    assert _state() == promoted

    capsys.readouterr()
    assert main(["rollback", "--reason", "complaints"]) == 0
    rolled = json.loads(capsys.readouterr().out)
    assert (rolled["from_version"], rolled["to_version"]) == (staging_version, previous)
    after = _state()
    assert after["production"] == previous
    assert after["champion"] == previous
    assert after["serving"] == (rolled["bento_model"], "none", None, None, None)
    assert _bento_latest_version() == previous
    assert after["audit_rows"] == before["audit_rows"] + 2

    # a running service's "switch" rows interleave; the changes themselves are filtered for
    assert (
        main(["audit", "--json", "--limit", "2", "--action", "promote", "--action", "rollback"])
        == 0
    )
    listed = json.loads(capsys.readouterr().out)
    assert [(e["action"], e["actor"], e["from_version"], e["to_version"]) for e in listed] == [
        ("rollback", default_actor(), staging_version, previous),
        ("promote", "alice", previous, staging_version),
    ]
    assert listed[0]["reason"] == "complaints"
