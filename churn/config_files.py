"""Reading YAML run configs: the part every pipeline's strict config loader shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A run config that cannot be used; the message names every bad key or field."""


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file, or a `ConfigError` saying why there is none."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"no such run config: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the run config must be a mapping")
    return data
