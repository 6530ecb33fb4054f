"""Data tests: the DVC stage reproduces the default data exactly as recorded in dvc.lock."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from churn.generator import generate, to_csv_text

REPO = Path(__file__).resolve().parents[2]


def test_generator_reproduces_the_md5_in_dvc_lock() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())["generate"]
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]["generate"]
    assert lock["params"]["params.yaml"]["generate"] == params, "dvc.lock is stale: run dvc repro"
    text = to_csv_text(generate(params["rows"], params["seed"], params["drift"]))
    (out,) = lock["outs"]
    assert out["path"] == "data/raw/telco_churn.csv"
    assert hashlib.md5(text.encode()).hexdigest() == out["md5"]


def test_dvc_lock_dependencies_match_the_code() -> None:
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]["generate"]
    for dep in lock["deps"]:
        digest = hashlib.md5((REPO / dep["path"]).read_bytes()).hexdigest()
        assert digest == dep["md5"], f"{dep['path']} changed since dvc.lock: run dvc repro"
