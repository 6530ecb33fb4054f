"""`churn stack check`'s offline checks: flavors, integration packages, configs, secrets,
kubeconfig contexts, then ZenML's own `Stack.validate()` on an unregistered stack.

Nothing is contacted but the ZenML store (for secrets; skipped with --no-secrets). ZenML is
imported inside the functions only (see `churn.stacks`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churn.stacks.apply import component_type
from churn.stacks.report import Report
from churn.stacks.spec import ComponentSpec, StackFileError, StackSpec, without_secrets

if TYPE_CHECKING:
    from zenml.stack.flavor import Flavor


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
            type=component_type(comp.type),
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


def use_kubeconfig(path: Path) -> None:
    """Point the kubernetes client at `path`, also when it was imported already.

    `kubernetes.config.kube_config` reads $KUBECONFIG once, at import time.
    """
    os.environ["KUBECONFIG"] = str(path.resolve())
    for name in ("kubernetes.config.kube_config", "kubernetes.config"):
        module = sys.modules.get(name)
        if module is not None:
            module.KUBE_CONFIG_DEFAULT_LOCATION = os.environ["KUBECONFIG"]  # type: ignore[attr-defined]
