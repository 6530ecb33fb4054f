"""The run config is validated strictly: a typo is an error naming the field, never ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.monitoring.config import ConfigError, MonitoringConfig, load_run_config, parse_config

REPO = Path(__file__).resolve().parents[2]
ZENML_KEYS = {"enable_cache", "parameters", "run_name", "settings", "steps", "tags", "model"}


def test_shipped_config_is_valid() -> None:
    cfg = load_run_config(REPO / "configs" / "monitoring.yaml", ZENML_KEYS)
    assert cfg.min_rows == 500
    assert cfg.method_for("MonthlyCharges") == ("wasserstein", 0.25)
    assert cfg.method_for("Contract") == ("jensenshannon", 0.15)
    assert cfg.method_for("SeniorCitizen")[0] == "jensenshannon"


def test_unknown_key_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"parameters\.config\.min_row: unknown key"):
        parse_config({"min_row": 50})


def test_bad_value_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"parameters\.config\.window_rows"):
        parse_config({"window_rows": 0})


def test_a_window_above_a_million_rows_must_be_sampled() -> None:
    assert parse_config({"window_rows": 10_000_000}).live_sample_rows == 20_000
    with pytest.raises(ConfigError, match="window_rows 1,000,001 needs live_sample_rows"):
        parse_config({"window_rows": 1_000_001, "live_sample_rows": None})
    assert parse_config({"window_rows": 1_000_000, "live_sample_rows": None}).window_rows
    with pytest.raises(ConfigError, match=r"parameters\.config\.window_rows"):
        parse_config({"window_rows": 10_000_001})


def test_per_column_method_must_fit_the_column() -> None:
    with pytest.raises(ConfigError, match="does not fit a categorical column"):
        parse_config({"per_column_method": {"Contract": "wasserstein"}})
    with pytest.raises(ConfigError, match="unknown feature"):
        parse_config({"per_column_threshold": {"Contrat": 0.2}})
    cfg = parse_config(
        {"per_column_method": {"tenure": "ks"}, "per_column_threshold": {"tenure": 0.01}}
    )
    assert cfg.method_for("tenure") == ("ks", 0.01)


def test_top_level_typo_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("paramters:\n  config:\n    min_rows: 5\n")
    with pytest.raises(ConfigError, match=r"unknown top-level key\(s\) \['paramters'\]"):
        load_run_config(path, ZENML_KEYS)
    path.write_text("parameters:\n  min_rows: 5\n")
    with pytest.raises(ConfigError, match=r"put settings under parameters\.config"):
        load_run_config(path, ZENML_KEYS)
    path.write_text("parameters: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_run_config(path, ZENML_KEYS)


def test_defaults_are_the_tuned_values() -> None:
    cfg = MonitoringConfig()
    assert (cfg.numeric_threshold, cfg.categorical_threshold) == (0.25, 0.15)
    assert cfg.drift_share_threshold == pytest.approx(0.05)
