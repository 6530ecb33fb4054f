"""Starting real servers on loopback for the frontend tests: free ports, readiness, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import requests

from tests.fixtures.ports import free_port  # noqa: F401  (servers.free_port)

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `url` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def start(
    cmd: Sequence[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in its own process group (so stop() ends its workers too)."""
    handle = log.open("wb")
    return subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def save_test_model(rows: int = 3000, seed: int = 3) -> str:
    """Fit the contract's pipeline on generated customers and save it to BENTOML_HOME."""
    import bentoml
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline

    from churn.features import ChurnEncoder
    from churn.generator import generate
    from churn.model_card import CandidateScore, ModelCard
    from churn.schema import FEATURE_NAMES, TARGET

    frame = generate(rows, seed=seed)
    x, y = frame[list(FEATURE_NAMES)], frame[TARGET]
    pipeline = Pipeline([("encode", ChurnEncoder()), ("model", LogisticRegression(max_iter=500))])
    pipeline.fit(x, y)
    auc = float(roc_auc_score(y, pipeline.predict_proba(x)[:, 1]))
    card = ModelCard(
        model_version="7",
        model_type="LogisticRegression",
        threshold=0.4,
        mlflow_run_id="frontend-test-run",
        trained_at=datetime.now(UTC),
        metrics={"roc_auc": round(auc, 4), "recall": 0.71, "precision": 0.55},
        candidates=[
            CandidateScore(
                name=name,
                cv_roc_auc=score,
                cv_roc_auc_std=0.01,
                fit_seconds=1.5,
                mlflow_run_id=name,
            )
            for name, score in (
                ("logistic_regression", auc),
                ("hist_gradient_boosting", auc - 0.01),
            )
        ],
        data_md5="frontend-test",
    )
    # BentoML metadata rejects None values, so every optional card field is filled above.
    model = bentoml.sklearn.save_model(
        "telco_churn", pipeline, labels=card.labels(), metadata=card.to_metadata()
    )
    return str(model.tag)
