"""`churn stack apply ENV` and `churn stack check ENV`: ZenML stacks from `stacks/<ENV>.yaml`.

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

This module is imported by the `churn` console script for every command, so it must stay cheap:
zenml (and churn.settings) are imported only inside the command functions.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.stack.flavor import Flavor

REPO_ROOT = Path(__file__).resolve().parents[2]
STACKS_DIR = REPO_ROOT / "stacks"

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_PATTERN = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+?)\.([A-Za-z0-9_-]+)\s*\}\}")

# Component types a stack file may use (values of zenml.enums.StackComponentType).
COMPONENT_TYPES = (
    "orchestrator",
    "artifact_store",
    "container_registry",
    "image_builder",
    "step_operator",
    "experiment_tracker",
    "model_registry",
    "data_validator",
)
REQUIRED_TYPES = ("orchestrator", "artifact_store")


class StackFileError(Exception):
    """The stack file is missing, malformed or needs an environment variable that is not set."""


@dataclass(frozen=True)
class ComponentSpec:
    type: str
    name: str
    flavor: str
    config: dict[str, Any]


@dataclass(frozen=True)
class StackSpec:
    name: str
    env: str
    description: str
    components: tuple[ComponentSpec, ...]
    # ZenML secrets that `apply` creates with random values when missing (e.g. a token for a
    # tracking server on loopback that ignores it); {secret name: [keys]}.
    generated_secrets: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def secret_references(self) -> list[tuple[str, str]]:
        """All `{{secret.key}}` references in the component configs, as (secret, key)."""
        refs: list[tuple[str, str]] = []
        for comp in self.components:
            for value in _walk_strings(comp.config):
                refs.extend(_SECRET_PATTERN.findall(value))
        return sorted(set(refs))


@dataclass
class Report:
    """What a command did or found; `problems` makes the exit code 1."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def info(self, message: str) -> None:
        self.lines.append(message)
        print(message)

    def problem(self, message: str) -> None:
        self.problems.append(message)
        print(f"MISSING/INVALID: {message}")


# --------------------------------------------------------------------------- stack files


def interpolation_context(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables plus defaults derived from `churn.settings` (env wins)."""
    from churn.settings import get_settings

    settings = get_settings()
    context = {
        "CHURN_REPO_ROOT": str(REPO_ROOT),
        "CHURN_STAGING_DIR": str(REPO_ROOT / "tmp" / "staging"),
        "CHURN_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "CHURN_MLFLOW_EXPERIMENT": settings.mlflow_experiment,
        "CHURN_MODEL_NAME": settings.model_name,
    }
    context.update(os.environ if environ is None else environ)
    return context


def interpolate(value: Any, context: Mapping[str, str], missing: set[str]) -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of `value`; collect unset names."""
    if isinstance(value, str):

        def _sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in context and context[name] != "":
                return context[name]
            if default is not None:
                return default
            missing.add(name)
            return match.group(0)

        return _ENV_PATTERN.sub(_sub, value)
    if isinstance(value, dict):
        return {k: interpolate(v, context, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, context, missing) for v in value]
    return value


def without_secrets(value: Any) -> Any:
    """`value` with each `{{secret.key}}` replaced by a placeholder, for offline validation.

    ZenML resolves secret references when a validator reads the field; offline we check the
    shape of the config here and the existence of the secrets separately.
    """
    if isinstance(value, str):
        return _SECRET_PATTERN.sub(lambda m: f"placeholder-{m.group(1)}-{m.group(2)}", value)
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def _walk_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _walk_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _walk_strings(v)]
    return []


def stack_file(env: str, stacks_dir: Path = STACKS_DIR) -> Path:
    path = stacks_dir / f"{env}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in stacks_dir.glob("*.yaml"))
        raise StackFileError(f"no stack file {path} (available: {', '.join(available) or 'none'})")
    return path


def parse_stack(raw: Any, env: str) -> StackSpec:
    """Check the shape of a loaded (already interpolated) stack file and build a StackSpec."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise StackFileError(f"{env}: the file must be a mapping with a string 'name'")
    components = raw.get("components")
    if not isinstance(components, dict) or not components:
        raise StackFileError(f"{env}: 'components' must be a non-empty mapping")
    extra_top = sorted(set(raw) - {"name", "description", "components", "generated_secrets"})
    if extra_top:
        raise StackFileError(f"{env}: unknown top-level keys {extra_top}")
    unknown = sorted(set(components) - set(COMPONENT_TYPES))
    if unknown:
        raise StackFileError(f"{env}: unknown component types {unknown}; use {COMPONENT_TYPES}")
    absent = [t for t in REQUIRED_TYPES if t not in components]
    if absent:
        raise StackFileError(f"{env}: a stack needs {absent}")
    specs = []
    for ctype, body in components.items():
        if not isinstance(body, dict) or not body.get("name") or not body.get("flavor"):
            raise StackFileError(f"{env}: component '{ctype}' needs 'name' and 'flavor'")
        extra = sorted(set(body) - {"name", "flavor", "config"})
        if extra:
            raise StackFileError(f"{env}: component '{ctype}' has unknown keys {extra}")
        config = body.get("config") or {}
        if not isinstance(config, dict):
            raise StackFileError(f"{env}: component '{ctype}' config must be a mapping")
        specs.append(ComponentSpec(ctype, str(body["name"]), str(body["flavor"]), config))
    return StackSpec(
        name=raw["name"],
        env=env,
        description=str(raw.get("description", "")),
        components=tuple(specs),
        generated_secrets=parse_generated_secrets(raw.get("generated_secrets"), env),
    )


def parse_generated_secrets(raw: Any, env: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if raw is None:
        return ()
    valid = isinstance(raw, dict) and all(
        isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys)
        for keys in raw.values()
    )
    if not valid:
        raise StackFileError(f"{env}: 'generated_secrets' must map secret names to lists of keys")
    return tuple((str(name), tuple(keys)) for name, keys in raw.items())


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


# --------------------------------------------------------------------------- zenml helpers


def ensure_repository(root: Path) -> bool:
    """`zenml init` of `root` when `root/.zen` is missing; True when it initialised."""
    from zenml.client import Client

    if Client.is_repository_directory(root):
        return False
    Client.initialize(root=root)
    return True


def _component_type(name: str) -> Any:
    from zenml.enums import StackComponentType

    return StackComponentType(name)


def _find_component(client: Client, spec: ComponentSpec) -> Any | None:
    try:
        return client.get_stack_component(
            _component_type(spec.type), spec.name, allow_name_prefix_match=False
        )
    except KeyError:
        return None


def apply_component(client: Client, spec: ComponentSpec, report: Report) -> bool:
    """Create or update one component; True when something changed."""
    existing = _find_component(client, spec)
    ctype = _component_type(spec.type)
    if existing is None:
        client.create_stack_component(spec.name, spec.flavor, ctype, spec.config)
        report.info(f"created {spec.type} '{spec.name}' ({spec.flavor})")
        return True
    if existing.flavor_name != spec.flavor:
        raise StackFileError(
            f"{spec.type} '{spec.name}' exists with flavor '{existing.flavor_name}', the file "
            f"wants '{spec.flavor}': delete it first (zenml {spec.type.replace('_', '-')} "
            f"delete {spec.name}) or rename the component"
        )
    current = dict(existing.configuration)
    if current == spec.config:
        return False
    update: dict[str, Any] = {k: None for k in current if k not in spec.config}
    update.update(spec.config)
    client.update_stack_component(spec.name, ctype, configuration=update)
    keys = set(current) | set(spec.config)
    changed = sorted(k for k in keys if current.get(k) != spec.config.get(k))
    report.info(f"updated {spec.type} '{spec.name}': {', '.join(changed)}")
    return True


def apply_generated_secrets(client: Client, spec: StackSpec, report: Report) -> bool:
    """Create the spec's generated secrets (random values) or add missing keys; True if changed."""
    import secrets

    changed = False
    for name, keys in spec.generated_secrets:
        try:
            existing = client.get_secret(name, allow_partial_name_match=False).secret_values
        except KeyError:
            client.create_secret(name, {k: secrets.token_hex(16) for k in keys})
            report.info(f"created secret '{name}' ({', '.join(keys)}: random values)")
            changed = True
            continue
        absent = [k for k in keys if k not in existing]
        if absent:
            new_values = {k: secrets.token_hex(16) for k in absent}
            client.update_secret(name, add_or_update_values=new_values)
            report.info(f"added {', '.join(absent)} to secret '{name}'")
            changed = True
    return changed


def apply_stack(client: Client, spec: StackSpec, report: Report) -> bool:
    """Create or update the components and the stack, then activate it; True when changed."""
    changed = apply_generated_secrets(client, spec, report)
    for comp in spec.components:
        changed |= apply_component(client, comp, report)
    wanted = {comp.type: comp.name for comp in spec.components}
    try:
        stack = client.get_stack(spec.name, allow_name_prefix_match=False)
    except KeyError:
        stack = None
    if stack is None:
        components = {_component_type(t): n for t, n in wanted.items()}
        client.create_stack(spec.name, components=components)
        report.info(f"created stack '{spec.name}'")
        changed = True
    else:
        current = {str(t.value): [c.name for c in cs] for t, cs in stack.components.items()}
        desired = {t: [n] for t, n in wanted.items()}
        if current != desired:
            updates: dict[Any, Any] = {_component_type(t): n for t, n in wanted.items()}
            for t in set(current) - set(desired):
                updates[_component_type(t)] = []
            client.update_stack(spec.name, component_updates=updates)
            report.info(f"updated stack '{spec.name}' components")
            changed = True
    if client.active_stack_model.name != spec.name:
        client.activate_stack(spec.name)
        report.info(f"activated stack '{spec.name}'")
        changed = True
    return changed


# --------------------------------------------------------------------------- checks


def find_flavor(ctype: str, name: str) -> type[Flavor] | None:
    """The flavor class for (type, name) from ZenML's built-in and integration flavors, offline."""
    from zenml.stack.flavor_registry import FlavorRegistry

    registry = FlavorRegistry()
    for flavor_cls in registry.builtin_flavors + registry.integration_flavors:
        flavor = flavor_cls()
        if flavor.name == name and flavor.type.value == ctype:
            return flavor_cls
    return None


def flavor_integration(flavor_cls: type[Flavor]) -> str | None:
    """The ZenML integration a flavor comes from (None for built-in flavors)."""
    module = flavor_cls.__module__
    if module.startswith("zenml.integrations."):
        return module.split(".")[2]
    return None


def missing_requirements(integration: str | None) -> list[str]:
    """Requirements of a ZenML integration that are not installed in this environment."""
    if not integration:
        return []
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement
    from zenml.integrations.registry import integration_registry

    missing = []
    for text in integration_registry.integrations[integration].get_requirements():
        req = Requirement(text)
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            missing.append(text)
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            missing.append(f"{text} (installed {installed})")
    return missing


def check_component_config(spec: ComponentSpec, flavor_cls: type[Flavor]) -> list[str]:
    """Validate a config against the flavor's config class; refuse plain-text secrets."""
    from pydantic import ValidationError
    from zenml.utils import secret_utils

    config_cls = flavor_cls().config_class
    problems = []
    unknown = sorted(set(spec.config) - set(config_cls.model_fields))
    if unknown:
        problems.append(f"{spec.type} '{spec.name}': unknown config keys {unknown}")
    for key, info in config_cls.model_fields.items():
        value = spec.config.get(key)
        if (
            value
            and secret_utils.is_secret_field(info)
            and not secret_utils.is_secret_reference(value)
        ):
            problems.append(
                f"{spec.type} '{spec.name}': '{key}' is a plain-text secret; use a "
                "{{secret.key}} reference"
            )
    try:
        config_cls(**without_secrets(spec.config))
    except (ValidationError, ValueError) as exc:
        problems.append(f"{spec.type} '{spec.name}': invalid config: {exc}")
    return problems


def build_stack(spec: StackSpec) -> Any:
    """An unregistered `zenml.stack.Stack` made of the spec's components (for `validate()`)."""
    from datetime import UTC, datetime
    from uuid import uuid4

    from zenml.stack import Stack

    now = datetime.now(UTC)
    kwargs: dict[str, Any] = {}
    for comp in spec.components:
        flavor_cls = find_flavor(comp.type, comp.flavor)
        assert flavor_cls is not None  # checked before
        flavor = flavor_cls()
        kwargs[comp.type] = flavor.implementation_class(
            name=comp.name,
            id=uuid4(),
            config=flavor.config_class(**without_secrets(comp.config)),
            flavor=comp.flavor,
            type=_component_type(comp.type),
            user=None,
            created=now,
            updated=now,
        )
    return Stack(id=uuid4(), name=spec.name, **kwargs)


REMOTE_ORCHESTRATORS = ("kubernetes",)


def note_store_reachability(spec: StackSpec, report: Report) -> None:
    """Pods of a remote orchestrator report to the ZenML store: a local SQLite one is out of reach.

    A note, not a problem: the check runs offline, often before `zenml login` to the real server.
    """
    remote = [
        c for c in spec.components if c.type == "orchestrator" and c.flavor in REMOTE_ORCHESTRATORS
    ]
    if not remote:
        return
    try:
        from zenml.client import Client

        store = Client().zen_store
        store_type, url = str(store.type.value), str(store.url)
    except Exception as exc:  # a server that is not running: say so, do not fail the check
        report.info(
            f"note: cannot reach the ZenML store ({exc}); pods need a deployed ZenML server"
        )
        return
    if store_type != "rest":
        report.info(
            f"note: the ZenML store is {store_type} ({url}); {remote[0].flavor} pods cannot reach "
            "it: `zenml login https://<your ZenML server>` before running pipelines on this stack"
        )
    else:
        report.info(f"ZenML store: server at {url} (pods must be able to reach it)")


def check_secrets(spec: StackSpec, report: Report) -> None:
    """Every referenced ZenML secret exists and has the referenced keys."""
    wanted: dict[str, list[str]] = {}
    for secret, key in spec.secret_references():
        wanted.setdefault(secret, []).append(key)
    if not wanted:
        return
    try:
        from zenml.client import Client

        client = Client()
        for secret, keys in sorted(wanted.items()):
            try:
                values = client.get_secret(secret, allow_partial_name_match=False).secret_values
            except KeyError:
                values = None
            absent = keys if values is None else [k for k in keys if k not in values]
            if absent and secret in dict(spec.generated_secrets):
                report.problem(
                    f"ZenML secret '{secret}' is missing: `churn stack apply` creates it"
                )
            elif absent:
                what = "does not exist" if values is None else f"lacks {', '.join(absent)}"
                args = " ".join(f"--{k}=..." for k in absent)
                report.problem(
                    f"ZenML secret '{secret}' {what}: zenml secret create {secret} {args}"
                )
    except Exception as exc:  # the store may be a server that is not running
        report.problem(f"cannot reach the ZenML store to check secrets: {exc}")


def check_components(spec: StackSpec, report: Report, verbose: bool = True) -> bool:
    """Flavors, integration requirements and configs; True when the stack can be built."""
    buildable = True
    for comp in spec.components:
        flavor_cls = find_flavor(comp.type, comp.flavor)
        if flavor_cls is None:
            report.problem(f"{comp.type} '{comp.name}': no ZenML flavor '{comp.flavor}'")
            buildable = False
            continue
        integration = flavor_integration(flavor_cls)
        reqs = missing_requirements(integration)
        if reqs:
            report.problem(
                f"{comp.type} '{comp.name}' ({comp.flavor}): ZenML integration '{integration}' "
                f"needs packages that are not installed: {'; '.join(reqs)}"
            )
            buildable = False
        config_problems = check_component_config(comp, flavor_cls)
        for problem in config_problems:
            report.problem(problem)
        buildable = buildable and not config_problems
        if verbose:
            report.info(f"checked {comp.type} '{comp.name}' ({comp.flavor})")
    return buildable


def kubeconfig_path(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The kubeconfig the kubernetes client reads: --kubeconfig, $KUBECONFIG, ~/.kube/config."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("KUBECONFIG"):
        return Path(env["KUBECONFIG"].split(os.pathsep)[0])
    return Path.home() / ".kube" / "config"


def kube_contexts(path: Path) -> set[str]:
    """Context names defined in a kubeconfig file (read as YAML; nothing is contacted)."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise StackFileError(f"kubeconfig {path} cannot be read: {exc}") from exc
    contexts = raw.get("contexts") if isinstance(raw, dict) else None
    return {c["name"] for c in contexts or [] if isinstance(c, dict) and c.get("name")}


def check_kube_contexts(spec: StackSpec, kubeconfig: Path, report: Report) -> None:
    """Every `kubernetes_context` a component names is defined in the kubeconfig."""
    wanted = sorted(
        {
            str(c.config["kubernetes_context"])
            for c in spec.components
            if c.config.get("kubernetes_context")
        }
    )
    if not wanted:
        return
    if not kubeconfig.is_file():
        report.problem(
            f"no kubeconfig at {kubeconfig}: the stack needs context(s) {', '.join(wanted)}; "
            "pass --kubeconfig FILE or set KUBECONFIG"
        )
        return
    try:
        defined = kube_contexts(kubeconfig)
    except StackFileError as exc:
        report.problem(str(exc))
        return
    for context in wanted:
        if context not in defined:
            report.problem(
                f"kubeconfig {kubeconfig} has no context '{context}' "
                f"(it has: {', '.join(sorted(defined)) or 'none'})"
            )
    if not set(wanted) - defined:
        report.info(f"kubeconfig {kubeconfig} defines {', '.join(wanted)}")


def check_stack(
    spec: StackSpec,
    missing_env: set[str],
    report: Report,
    secrets: bool,
    kubeconfig: Path | None = None,
) -> None:
    """Everything `churn stack check` looks at, offline; problems go to the report."""
    for name in sorted(missing_env):
        report.problem(f"environment variable {name} is not set")
    buildable = check_components(spec, report) and not missing_env
    if kubeconfig is not None and not missing_env:
        check_kube_contexts(spec, kubeconfig, report)
    if secrets:
        check_secrets(spec, report)
        note_store_reachability(spec, report)
    if not buildable:
        report.info("Stack.validate() skipped: fix the problems above first")
        return
    try:
        build_stack(spec).validate(fail_if_secrets_missing=False)
    except Exception as exc:
        report.problem(f"Stack.validate(): {exc}")
        return
    report.info(f"Stack.validate(): stack '{spec.name}' is valid")


# --------------------------------------------------------------------------- commands


def _quiet_zenml() -> None:
    os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    os.environ.setdefault("ZENML_AUTO_OPEN_DASHBOARD", "false")


def use_kubeconfig(path: Path) -> None:
    """Point the kubernetes client at `path`, also when it was imported already.

    `kubernetes.config.kube_config` reads $KUBECONFIG once, at import time.
    """
    os.environ["KUBECONFIG"] = str(path.resolve())
    for name in ("kubernetes.config.kube_config", "kubernetes.config"):
        module = sys.modules.get(name)
        if module is not None:
            module.KUBE_CONFIG_DEFAULT_LOCATION = os.environ["KUBECONFIG"]  # type: ignore[attr-defined]


def cmd_apply(args: argparse.Namespace) -> int:
    try:
        spec, _ = load_stack(args.env, Path(args.stacks_dir))
    except StackFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _quiet_zenml()
    from zenml.client import Client

    precheck = Report()
    if not check_components(spec, precheck, verbose=False):
        print(f"error: stack '{spec.name}' not applied; see `churn stack check {args.env}`")
        return 1
    root = Path(args.repo_root).resolve()
    if ensure_repository(root):
        print(f"initialised ZenML repository at {root}")
    report = Report()
    try:
        changed = apply_stack(Client(root=root), spec, report)
    except StackFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # ZenML store / validation errors: one clear line, exit 1
        print(f"error: applying stack '{spec.name}' failed: {type(exc).__name__}: {exc}")
        return 1
    if changed:
        print(f"stack '{spec.name}' applied and active")
    else:
        print(f"stack '{spec.name}' is up to date and active: nothing changed")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    try:
        spec, missing_env = load_stack(args.env, Path(args.stacks_dir), allow_missing_env=True)
    except StackFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _quiet_zenml()
    if args.kubeconfig:
        kubeconfig = Path(args.kubeconfig)
        if not kubeconfig.is_file():
            print(f"error: kubeconfig {kubeconfig} does not exist", file=sys.stderr)
            return 1
        use_kubeconfig(kubeconfig)
    report = Report()
    check_stack(
        spec,
        missing_env,
        report,
        secrets=not args.no_secrets,
        kubeconfig=kubeconfig_path(args.kubeconfig),
    )
    if report.problems:
        print(f"stack '{spec.name}': {len(report.problems)} problem(s)")
        return 1
    print(f"stack '{spec.name}': OK")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `churn stack apply|check ENV` to the `churn` command line."""
    stack = subparsers.add_parser("stack", help="ZenML stacks per environment (stacks/*.yaml)")
    sub = stack.add_subparsers(dest="stack_command", required=True)

    apply_p = sub.add_parser("apply", help="create or update the stack ENV and activate it")
    apply_p.add_argument("env", help="stack file name: local, staging, kubernetes")
    apply_p.add_argument(
        "--repo-root",
        default=os.environ.get("ZENML_REPOSITORY_PATH") or str(REPO_ROOT),
        help="where `.zen/` lives (default: $ZENML_REPOSITORY_PATH, else the checkout)",
    )
    apply_p.add_argument("--stacks-dir", default=str(STACKS_DIR), help=argparse.SUPPRESS)
    apply_p.set_defaults(func=cmd_apply)

    check_p = sub.add_parser("check", help="validate the stack ENV offline, list what is missing")
    check_p.add_argument("env", help="stack file name: local, staging, kubernetes")
    check_p.add_argument("--kubeconfig", help="kubeconfig for Kubernetes components")
    check_p.add_argument(
        "--no-secrets",
        action="store_true",
        help="do not contact the ZenML store (secret lookups, store note)",
    )
    check_p.add_argument("--stacks-dir", default=str(STACKS_DIR), help=argparse.SUPPRESS)
    check_p.set_defaults(func=cmd_check)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: `python -m churn.cli.stack apply local`."""
    parser = argparse.ArgumentParser(prog="churn")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(["stack", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
