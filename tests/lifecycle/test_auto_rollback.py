"""Automatic rollback through the real monitoring pipeline (`churn monitor`) on the session's real
ZenML, MLflow and BentoML stores: the session's trained version P, one more version Q trained on
the same data and promoted by hand over it, predictions logged by each, outcomes imported with
`churn outcomes import`. Outcomes that contradict Q's predictions roll production back to P
(audited, actor "monitoring"); outcomes that agree with P's do not move it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from churn.cli import main
from churn.db import upgrade
from churn.db.audit import recent
from churn.schema import FEATURE_NAMES, ID_COLUMN
from churn.settings import get_settings
from tests.fixtures.training import FAST_CONFIG, TrainedModel, run_fast_training

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]

NOW = dt.datetime.now(dt.UTC)


def _one_json_line(out: str) -> dict[str, Any]:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be ONE JSON line, got: {out[:2000]}"
    result: dict[str, Any] = json.loads(lines[0])
    return result


def _version(name: str) -> Any:
    from zenml.client import Client

    return Client().get_model_version(get_settings().model_name, name)


def _log(db: str, customers: pd.DataFrame, version: str, when: dt.datetime) -> None:
    """Rows as the service writes them (its own table definition, after the migrations)."""
    from churn.control.registry import card_of, load_pipeline
    from churn.db.tables import prediction_log

    mv = _version(version)
    proba = load_pipeline(mv).predict_proba(customers[list(FEATURE_NAMES)])[:, 1]
    threshold = card_of(mv).threshold
    rows = []
    for i, (record, p) in enumerate(
        zip(customers[[*FEATURE_NAMES, ID_COLUMN]].to_dict("records"), proba, strict=True)
    ):
        rows.append(
            {
                **record,
                "request_id": uuid.uuid4().hex,
                "created_at": when + dt.timedelta(seconds=i),
                "model_version": version,
                "churn_probability": float(p),
                "churn": bool(p >= threshold),
            }
        )
    engine = sa.create_engine(db)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(prediction_log.insert(), rows)
    engine.dispose()


def _import(
    tmp_path: Path, db: str, customers: pd.DataFrame, churned: pd.Series, when: dt.datetime
) -> None:
    path = tmp_path / f"outcomes-{uuid.uuid4().hex[:6]}.csv"
    pd.DataFrame(
        {
            "customerID": customers[ID_COLUMN],
            "Churn": ["Yes" if c else "No" for c in churned],
            "observed_at": when.isoformat(),
        }
    ).to_csv(path, index=False)
    assert main(["outcomes", "import", str(path), "--db", db]) == 0


def _changes(limit: int = 10_000) -> list[Any]:
    """Audit rows of lifecycle changes, newest first. A service another test left running on the
    session's database audits its own "switch" rows when production changes: not ours to count."""
    return [e for e in recent(limit) if e.action != "switch"]


def _config(tmp_path: Path, db: str) -> Path:
    config = {
        "prediction_db": db,
        "reports_dir": str(tmp_path / "reports"),
        "min_rows": 100_000,  # this test is about outcomes: no drift analysis
        "min_outcomes": 200,
        "min_realized_roc_auc": 0.6,
        "bootstrap_samples": 200,
        "rollback_on_degradation": True,
    }
    path = tmp_path / "monitoring.yaml"
    path.write_text(yaml.safe_dump({"enable_cache": False, "parameters": {"config": config}}))
    return path


def test_degraded_outcomes_roll_production_back(
    trained_model: TrainedModel, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from churn.control.registry import production_version, promote_by_hand
    from churn.training.promotion import QualityFloor

    name = get_settings().model_name
    before = production_version(name)
    assert before is not None
    p_version = str(before.name)
    run_fast_training(trained_model.data_path, FAST_CONFIG)
    from zenml.client import Client

    latest = Client().list_model_versions(model=name, sort_by="desc:number", size=1)
    q_version = str(latest.items[0].name)
    assert q_version != p_version
    promote_by_hand(q_version, "try the new one", "tester", QualityFloor())

    test = trained_model.test_data.reset_index(drop=True)
    test[ID_COLUMN] = [f"AR-{i}" for i in range(len(test))]  # unique customers for this test
    half = len(test) // 2
    served_by_p, served_by_q = test.iloc[:half], test.iloc[half:]
    labels = test["Churn"].astype(int).astype(bool)
    db = f"sqlite:///{tmp_path / 'project.db'}"
    _log(db, served_by_p, p_version, NOW - dt.timedelta(days=10))
    _log(db, served_by_q, q_version, NOW - dt.timedelta(days=3))
    _import(tmp_path, db, served_by_p, labels.iloc[:half], NOW - dt.timedelta(days=5))
    # Q's customers did the opposite of what their labels say: Q looks as bad as it gets
    _import(tmp_path, db, served_by_q, ~labels.iloc[half:], NOW - dt.timedelta(days=1))

    capfd.readouterr()
    config = _config(tmp_path, db)
    assert main(["monitor", "--config", str(config)]) == 0
    out, _ = capfd.readouterr()
    result = _one_json_line(out)
    realized = result["realized"]
    assert result["production_version"] == q_version
    decision = realized["decision"]
    assert decision["degraded"] is True, decision
    assert (decision["production_version"], decision["previous_version"]) == (q_version, p_version)
    assert decision["production_roc_auc"] < 0.5 < decision["previous_roc_auc"]
    assert decision["n_production"] == len(served_by_q)
    by_version = {m["model_version"]: m for m in realized["metrics"]}
    assert by_version[q_version]["n"] == len(served_by_q)
    assert by_version[q_version]["arm"] == "champion"
    rollback = realized["rollback"]
    assert rollback["performed"] is True, rollback
    assert (rollback["from_version"], rollback["to_version"]) == (q_version, p_version)
    assert production_version(name).name == p_version

    event = _changes()[0]
    assert (event.action, event.actor, event.source) == ("rollback", "monitoring", "pipeline")
    assert (event.from_version, event.to_version) == (q_version, p_version)
    assert (
        "realized ROC-AUC" in event.reason
        and f"{decision['production_roc_auc']:.3f}" in event.reason
    )

    prom = (tmp_path / "reports" / "drift" / "realized.prom").read_text()
    assert "churn_realized_degraded 1.0" in prom
    assert "churn_auto_rollback 1.0" in prom
    assert f'churn_realized_roc_auc{{arm="champion",model_version="{q_version}"}}' in prom

    # Again, with P back in production: its outcomes agree with it, nothing moves.
    audit_rows = len(_changes())
    assert main(["monitor", "--config", str(config)]) == 0
    again = _one_json_line(capfd.readouterr().out)["realized"]
    assert again["decision"]["production_version"] == p_version
    assert again["decision"]["degraded"] is False, again["decision"]
    assert again["rollback"]["performed"] is False
    assert production_version(name).name == p_version
    assert len(_changes()) == audit_rows
    assert (
        "churn_realized_degraded 0.0"
        in (tmp_path / "reports" / "drift" / "realized.prom").read_text()
    )
