"""The stack file: its shape as strict pydantic models, `${VAR}` interpolation, secret references.

A stack file is plain YAML (see `stacks/README.md`)::

    name: churn-local
    components:
      orchestrator: {name: churn-local-orchestrator, flavor: local, config: {}}
      experiment_tracker:
        name: churn-local-mlflow
        flavor: mlflow
        config: {tracking_uri: "${CHURN_MLFLOW_TRACKING_URI}"}

`${VAR}` and `${VAR:-default}` are replaced from the environment (plus a few values derived from
`churn.settings`); `{{secret.key}}` is a ZenML secret reference and is passed to ZenML untouched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from churn.paths import REPO_ROOT

STACKS_DIR = REPO_ROOT / "stacks"

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_PATTERN = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+?)\.([A-Za-z0-9_-]+)\s*\}\}")

# Component types a stack file may use (values of zenml.enums.StackComponentType).
ComponentType = Literal[
    "orchestrator",
    "artifact_store",
    "container_registry",
    "image_builder",
    "step_operator",
    "experiment_tracker",
    "model_registry",
    "data_validator",
    "feature_store",
]
COMPONENT_TYPES: tuple[str, ...] = get_args(ComponentType)
REQUIRED_TYPES = ("orchestrator", "artifact_store")

NonEmpty = Annotated[str, Field(min_length=1)]


class StackFileError(Exception):
    """The stack file is missing, malformed or needs an environment variable that is not set."""


class ComponentFile(BaseModel):
    """One component as the file writes it, under its type's key."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    name: NonEmpty
    flavor: NonEmpty
    config: dict[str, Any] | None = None


class StackFile(BaseModel):
    """The whole file. `generated_secrets`: ZenML secrets `apply` creates with random values when
    missing (e.g. a token for a tracking server on loopback that ignores it), {name: [keys]}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    components: dict[ComponentType, ComponentFile] = Field(min_length=1)
    generated_secrets: dict[str, Annotated[list[str], Field(min_length=1)]] | None = None

    @model_validator(mode="after")
    def _required(self) -> StackFile:
        absent = [t for t in REQUIRED_TYPES if t not in self.components]
        if absent:
            raise ValueError(f"a stack needs {absent}")
        return self


class ComponentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ComponentType
    name: str
    flavor: str
    config: dict[str, Any]


class StackSpec(BaseModel):
    """What `apply` and `check` work on: a checked, interpolated stack file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    env: str
    description: str
    components: tuple[ComponentSpec, ...]
    generated_secrets: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def secret_references(self) -> list[tuple[str, str]]:
        """All `{{secret.key}}` references in the component configs, as (secret, key)."""
        refs: list[tuple[str, str]] = []

        def collect(text: str) -> str:
            refs.extend(_SECRET_PATTERN.findall(text))
            return text

        for comp in self.components:
            map_strings(comp.config, collect)
        return sorted(set(refs))


def map_strings(value: Any, fn: Callable[[str], Any]) -> Any:
    """`value` with `fn` applied to every string inside its dicts and lists (the one walker)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    return value


def interpolation_context(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables plus defaults derived from `churn.settings` (env wins)."""
    from churn.settings import get_settings

    settings = get_settings()
    online = urlsplit(settings.feature_online_store or "")
    context = {
        "CHURN_REPO_ROOT": str(REPO_ROOT),
        "CHURN_STAGING_DIR": str(REPO_ROOT / "tmp" / "staging"),
        "CHURN_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "CHURN_MLFLOW_EXPERIMENT": settings.mlflow_experiment,
        "CHURN_MODEL_NAME": settings.model_name,
        # the feature store's Redis, for the Feast component (localhost: the embedded SQLite)
        "CHURN_FEATURE_ONLINE_HOST": online.hostname or "localhost",
        "CHURN_FEATURE_ONLINE_PORT": str(online.port or 6379),
    }
    context.update(os.environ if environ is None else environ)
    return context


def interpolate(value: Any, context: Mapping[str, str], missing: set[str]) -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of `value`; collect unset names. A
    string that is one placeholder alone and becomes digits is an int (a port), as ZenML stores
    it, so applying the same spec twice compares equal."""

    def _sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in context and context[name] != "":
            return context[name]
        if default is not None:
            return default
        missing.add(name)
        return match.group(0)

    def _one(text: str) -> Any:
        out = _ENV_PATTERN.sub(_sub, text)
        return int(out) if _ENV_PATTERN.fullmatch(text) and out.isdigit() else out

    return map_strings(value, _one)


def without_secrets(value: Any) -> Any:
    """`value` with each `{{secret.key}}` replaced by a placeholder, for offline validation.

    ZenML resolves secret references when a validator reads the field; offline we check the
    shape of the config here and the existence of the secrets separately.
    """
    return map_strings(
        value, lambda s: _SECRET_PATTERN.sub(lambda m: f"placeholder-{m.group(1)}-{m.group(2)}", s)
    )


def stack_file(env: str, stacks_dir: Path = STACKS_DIR) -> Path:
    path = stacks_dir / f"{env}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in stacks_dir.glob("*.yaml"))
        raise StackFileError(f"no stack file {path} (available: {', '.join(available) or 'none'})")
    return path


def _problem(errors: list[ErrorDetails]) -> str:
    """The first problem of a stack file, in the order a reader fixes them (top-level first)."""

    def at(*prefix: Any) -> list[ErrorDetails]:
        return [e for e in errors if tuple(e["loc"][: len(prefix)]) == prefix]

    def extra(errs: list[ErrorDetails], depth: int) -> list[str]:
        return sorted(
            str(e["loc"][depth])
            for e in errs
            if e["type"] == "extra_forbidden" and len(e["loc"]) == depth + 1
        )

    if any(e["loc"] == () and e["type"] == "model_type" for e in errors) or at("name"):
        return "the file must be a mapping with a string 'name'"
    if any(e["loc"] == ("components",) for e in errors):
        return "'components' must be a non-empty mapping"
    if extra(errors, 0):
        return f"unknown top-level keys {extra(errors, 0)}"
    unknown = sorted({str(e["loc"][1]) for e in at("components") if e["loc"][2:3] == ("[key]",)})
    if unknown:
        return f"unknown component types {unknown}; use {COMPONENT_TYPES}"
    for ctype in dict.fromkeys(str(e["loc"][1]) for e in at("components")):
        errs = at("components", ctype)
        if any(len(e["loc"]) == 2 or e["loc"][2] in ("name", "flavor") for e in errs):
            return f"component '{ctype}' needs 'name' and 'flavor'"
        if extra(errs, 2):
            return f"component '{ctype}' has unknown keys {extra(errs, 2)}"
        return f"component '{ctype}' config must be a mapping"
    if at("generated_secrets"):
        return "'generated_secrets' must map secret names to lists of keys"
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in errors)


def parse_stack(raw: Any, env: str) -> StackSpec:
    """Check the shape of a loaded (already interpolated) stack file and build a StackSpec."""
    try:
        parsed = StackFile.model_validate(raw)
    except ValidationError as exc:
        raise StackFileError(f"{env}: {_problem(exc.errors())}") from None
    return StackSpec(
        name=parsed.name,
        env=env,
        description=parsed.description,
        components=tuple(
            ComponentSpec(type=t, name=c.name, flavor=c.flavor, config=c.config or {})
            for t, c in parsed.components.items()
        ),
        generated_secrets=tuple(
            (name, tuple(keys)) for name, keys in (parsed.generated_secrets or {}).items()
        ),
    )


def load_stack(
    env: str,
    stacks_dir: Path = STACKS_DIR,
    environ: Mapping[str, str] | None = None,
    allow_missing_env: bool = False,
) -> tuple[StackSpec, set[str]]:
    """Load, interpolate and check `stacks/<env>.yaml`; returns the spec and unset variables."""
    import yaml

    path = stack_file(env, stacks_dir)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: invalid YAML: {exc}") from exc
    missing: set[str] = set()
    spec = parse_stack(interpolate(raw, interpolation_context(environ), missing), env)
    if missing and not allow_missing_env:
        raise StackFileError(
            f"{path.name} needs environment variables that are not set: "
            + ", ".join(sorted(missing))
        )
    return spec, missing
