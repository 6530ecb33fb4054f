"""Reading the monitoring outputs: `reports/drift/history.jsonl` and the HTML drift reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

HISTORY_FIELDS = ("timestamp", "drift_detected", "drift_share", "drifted_features", "n_rows")


def drift_dir(reports_dir: Path) -> Path:
    return reports_dir / "drift"


def load_history(reports_dir: Path) -> pd.DataFrame:
    """One row per monitoring run, oldest first; an empty frame when there are no runs yet.

    Lines that are not valid JSON objects (a half-written last line) are skipped.
    """
    path = drift_dir(reports_dir) / "history.jsonl"
    rows: list[dict[str, Any]] = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "timestamp" in item and "drift_share" in item:
                rows.append(item)
    if not rows:
        return pd.DataFrame(columns=[*HISTORY_FIELDS, "report_path"])
    frame = pd.DataFrame(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce")
    frame["drift_share"] = pd.to_numeric(frame["drift_share"], errors="coerce")
    frame = frame.dropna(subset=["timestamp", "drift_share"])
    return frame.sort_values("timestamp").reset_index(drop=True)


def latest_threshold(history: pd.DataFrame, default: float) -> float:
    """The drift share the latest run decided with (older records lack it: `default`)."""
    if history.empty or "drift_share_threshold" not in history.columns:
        return default
    value = pd.to_numeric(pd.Series([history.iloc[-1]["drift_share_threshold"]]), errors="coerce")
    return default if value.isna().iloc[0] else float(value.iloc[0])


def latest_report(reports_dir: Path, history: pd.DataFrame) -> Path | None:
    """The report the latest history entry names, else the newest HTML file in reports/drift/."""
    folder = drift_dir(reports_dir)
    if not history.empty and "report_path" in history.columns:
        named = history.iloc[-1]["report_path"]
        if isinstance(named, str) and named:
            path = Path(named)
            for candidate in (path, folder / path.name, reports_dir.parent / path):
                if candidate.is_file():
                    return candidate
    reports = (
        sorted(folder.glob("*.html"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    )
    return reports[-1] if reports else None


REALIZED_COLUMNS = (
    "model_version",
    "arm",
    "n",
    "positives",
    "roc_auc",
    "brier",
    "precision",
    "recall",
)


def load_realized(reports_dir: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The latest monitoring run's realized figures (`reports/drift/realized.json`) as (run, table):
    one row per (model_version, arm), realized metrics beside the offline test ROC-AUC."""
    path = drift_dir(reports_dir) / "realized.json"
    try:
        run = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        run = {}
    if not isinstance(run, dict):
        run = {}
    if not run.get("metrics"):
        return run, pd.DataFrame(columns=[*REALIZED_COLUMNS, "offline_roc_auc"])
    table = pd.DataFrame(run["metrics"])[list(REALIZED_COLUMNS)]
    offline = run.get("offline_test_metrics") or {}
    table["offline_roc_auc"] = [
        (offline.get(str(v)) or {}).get("roc_auc") for v in table["model_version"]
    ]
    return run, table
