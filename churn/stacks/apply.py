"""Create or update a stack's ZenML secrets, components and stack, then activate it (idempotent).

ZenML is imported inside the functions only (see `churn.stacks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from churn.stacks.report import Report
from churn.stacks.spec import ComponentSpec, StackFileError, StackSpec

if TYPE_CHECKING:
    from zenml.client import Client


def component_type(name: str) -> Any:
    """The `zenml.enums.StackComponentType` of a stack file's component key."""
    from zenml.enums import StackComponentType

    return StackComponentType(name)


def ensure_repository(root: Path) -> bool:
    """`zenml init` of `root` when `root/.zen` is missing; True when it initialised."""
    from zenml.client import Client

    if Client.is_repository_directory(root):
        return False
    Client.initialize(root=root)
    return True


def _find_component(client: Client, spec: ComponentSpec) -> Any | None:
    try:
        return client.get_stack_component(
            component_type(spec.type), spec.name, allow_name_prefix_match=False
        )
    except KeyError:
        return None


def apply_component(client: Client, spec: ComponentSpec, report: Report) -> bool:
    """Create or update one component; True when something changed."""
    existing = _find_component(client, spec)
    ctype = component_type(spec.type)
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
        components = {component_type(t): n for t, n in wanted.items()}
        client.create_stack(spec.name, components=components)
        report.info(f"created stack '{spec.name}'")
        changed = True
    else:
        current = {str(t.value): [c.name for c in cs] for t, cs in stack.components.items()}
        desired = {t: [n] for t, n in wanted.items()}
        if current != desired:
            updates: dict[Any, Any] = {component_type(t): n for t, n in wanted.items()}
            for t in set(current) - set(desired):
                updates[component_type(t)] = []
            client.update_stack(spec.name, component_updates=updates)
            report.info(f"updated stack '{spec.name}' components")
            changed = True
    if client.active_stack_model.name != spec.name:
        client.activate_stack(spec.name)
        report.info(f"activated stack '{spec.name}'")
        changed = True
    return changed
