"""The workflow's cluster steps, checked offline (there is no Kubernetes cluster here).

A `run:` step whose recipe (`make -n`) talks to a cluster is not run: its recipe is read line by
line instead. `kustomize edit` lines are applied to the job's checkout, as kustomize would;
`kubectl apply -k DIR` renders DIR with `kubectl kustomize` (tests/fixtures/kustomize.py) and
records what it would create in a folder that stands for the cluster (it outlives the run, like a
cluster); `rollout status` and `port_forward.sh` check that the workload or Service was applied
before; `kubectl patch secret` records the keys it sets. A cluster line not listed here fails the
step: nothing is skipped by accident.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.kustomize import render


class ClusterStepError(RuntimeError):
    """A cluster line this runner cannot check offline, or a check that failed."""


_CLUSTER_WORDS = re.compile(
    r"(?<![\w-])(kubectl|kustomize|KUBECONFIG=|port_forward\.sh|switch\.sh|deploy_idle\.sh)"
)
_ENGINE_WORDS = re.compile(
    r"(?<![\w/-])(docker|podman)\s+(build|push|tag|login)\b|bentoml containerize"
)


def talks_to_cluster(recipe: str) -> bool:
    return bool(_CLUSTER_WORDS.search(recipe))


def needs_engine(recipe: str) -> bool:
    return bool(_ENGINE_WORDS.search(recipe))


@dataclass
class Cluster:
    """What has been applied, per namespace: state/<namespace>.json."""

    state: Path
    notes: list[str] = field(default_factory=list)

    def _file(self, namespace: str) -> Path:
        return self.state / f"{namespace}.json"

    def read(self, namespace: str) -> dict[str, Any]:
        path = self._file(namespace)
        return json.loads(path.read_text()) if path.is_file() else {"objects": {}, "secrets": {}}

    def write(self, namespace: str, data: dict[str, Any]) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self._file(namespace).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _edit(workspace: Path, directory: str, args: list[str]) -> None:
    """`kustomize edit set image A=B:T ...` and `kustomize edit add annotation --force K:V`."""
    path = workspace / directory / "kustomization.yaml"
    doc = yaml.safe_load(path.read_text())
    if args[:2] == ["set", "image"]:
        images = doc.setdefault("images", [])
        for spec in args[2:]:
            name, _, target = spec.partition("=")
            new_name, _, tag = target.rpartition(":")
            if not name or not new_name or "/" in tag:
                raise ClusterStepError(f"kustomize edit set image {spec!r}: not NAME=IMAGE:TAG")
            entry = next((i for i in images if i["name"] == name), None)
            if entry is None:
                entry = {"name": name}
                images.append(entry)
            entry.update(newName=new_name, newTag=tag)
    elif args[:2] == ["add", "annotation"]:
        for pair in (a for a in args[2:] if not a.startswith("-")):
            key, _, value = pair.partition(":")
            doc.setdefault("commonAnnotations", {})[key] = value
    else:
        raise ClusterStepError(f"kustomize edit {' '.join(args)}: not checked offline here")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _apply(cluster: Cluster, workspace: Path, directory: str) -> None:
    docs = render(workspace / directory)
    by_namespace: dict[str, dict[str, Any]] = {}
    for doc in docs:
        meta = doc.get("metadata", {})
        namespace = meta.get("namespace") or ("" if doc["kind"] == "Namespace" else "default")
        spec = doc.get("spec", {})
        template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
        containers = template.get("spec", {}).get("containers", [])
        entry = {
            "images": [c["image"] for c in containers],
            "annotations": meta.get("annotations", {}),
            "secret_keys": sorted(
                f"{e['valueFrom']['secretKeyRef']['name']}/{e['valueFrom']['secretKeyRef']['key']}"
                for c in containers
                for e in c.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})
            ),
        }
        for image in entry["images"]:
            if "/" not in image or ":" not in image.rsplit("/", 1)[-1]:
                raise ClusterStepError(f"{doc['kind']}/{meta['name']} has an unset image {image!r}")
        by_namespace.setdefault(namespace, {})[f"{doc['kind']}/{meta['name']}"] = entry
    for namespace, objects in by_namespace.items():
        state = cluster.read(namespace)
        state["objects"].update(objects)
        cluster.write(namespace, state)
    cluster.notes.append(f"kubectl apply -k {directory}: rendered {len(docs)} objects")


def _require(cluster: Cluster, namespace: str, name: str, what: str) -> None:
    if name not in cluster.read(namespace)["objects"]:
        raise ClusterStepError(f"{what}: {name} was never applied in namespace {namespace}")


def _kubectl(cluster: Cluster, words: list[str]) -> None:
    namespace = words[words.index("-n") + 1] if "-n" in words else "default"
    rest = [w for i, w in enumerate(words) if w != "-n" and (i == 0 or words[i - 1] != "-n")]
    if rest[:2] == ["rollout", "status"]:
        kind, _, name = rest[2].partition("/")
        _require(cluster, namespace, f"{kind.capitalize()}/{name}", "rollout status")
        cluster.notes.append(f"rollout status {rest[2]}: applied in {namespace} (offline)")
    elif rest[:3] == ["patch", "secret", rest[2] if len(rest) > 2 else ""] and "-p" in rest:
        patch = json.loads(rest[rest.index("-p") + 1])
        empty = sorted(k for k, v in patch.get("stringData", {}).items() if not v)
        if empty:
            raise ClusterStepError(f"secret {rest[2]}: empty value for {empty}")
        state = cluster.read(namespace)
        state["secrets"].setdefault(rest[2], {}).update(patch.get("stringData", {}))
        cluster.write(namespace, state)
        cluster.notes.append(f"secret {rest[2]} in {namespace}: set {sorted(patch['stringData'])}")
    else:
        raise ClusterStepError(f"kubectl {' '.join(rest)}: not checked offline here")


def _deploy_idle(
    cluster: Cluster, workspace: Path, assigned: dict[str, str], output: str | None
) -> None:
    """deploy/deploy_idle.sh: IMAGE to the idle color, the live color keeps its image."""
    namespace, image = assigned.get("NAMESPACE", "churn"), assigned.get("IMAGE", "")
    if not image:
        raise ClusterStepError("deploy_idle.sh: IMAGE is empty")
    state = cluster.read(namespace)
    active = state.get("active_color", "blue")
    idle = "green" if active == "blue" else "blue"
    if output:
        with open(output, "a", encoding="utf-8") as fh:
            fh.write(f"active={active}\nidle={idle}\n")
    _edit(
        workspace, f"deploy/overlays/production/{idle}", ["set", "image", f"churn-service={image}"]
    )
    live = state["objects"].get(f"Deployment/churn-service-{active}", {}).get("images", [])
    if live:
        _edit(
            workspace,
            f"deploy/overlays/production/{active}",
            ["set", "image", f"churn-service={live[0]}"],
        )
    _apply(cluster, workspace, "deploy/overlays/production")
    cluster.notes.append(f"deploy_idle: {image} on {idle}, {active} stays live")


def _expand(line: str, env: dict[str, str]) -> str:
    """`$NAME` / `${NAME}` from the step's environment, as the recipe's shell would."""
    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda m: env.get(m.group(1), ""), line)


def run_offline(
    recipe: str, workspace: Path, cluster: Cluster, env: dict[str, str], mask: Callable[[str], str]
) -> None:
    """Check one step's dry-run recipe against the recorded cluster (see the module docstring)."""
    for raw in re.sub(r"\\\n\s*", " ", recipe).splitlines():
        line = raw.strip()
        if line.startswith("for ") or "${!" in line:  # the recipe's own checks of its inputs
            continue
        line = _expand(line, env)
        if not line or line.startswith(("#", "echo ", "test ", "@test ")):
            continue
        words = shlex.split(line)
        directory = ""
        if words[:1] == ["cd"] and "&&" in words:
            directory, words = words[1], words[words.index("&&") + 1 :]
        assigned: dict[str, str] = {}
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            key, _, value = words.pop(0).partition("=")
            assigned[key] = value
        if not words:
            continue
        if Path(words[0]).name == "kustomize" and words[1:2] == ["edit"]:
            _edit(workspace, directory, words[2:])
        elif Path(words[0]).name == "kubectl" and words[1:3] == ["apply", "-k"]:
            _apply(cluster, workspace, words[3])
        elif Path(words[0]).name == "kubectl":
            _kubectl(cluster, words[1:])
        elif words[:2] == ["bash", "scripts/port_forward.sh"]:
            namespace, service = words[2], words[3]
            _require(cluster, namespace, f"Service/{service}", "port-forward")
            command = " ".join(words[words.index("--") + 1 :])
            cluster.notes.append(
                f"port-forward {namespace}/{service}: Service applied; `{mask(command)}` not run "
                "(no cluster to forward to)"
            )
        elif words[:2] == ["bash", "deploy/deploy_idle.sh"]:
            _deploy_idle(cluster, workspace, assigned, env.get("GITHUB_OUTPUT"))
        elif words[:2] == ["bash", "deploy/switch.sh"] and len(words) == 3:
            namespace = assigned.get("NAMESPACE", "churn")
            _require(cluster, namespace, f"Deployment/churn-service-{words[2]}", "switch")
            state = cluster.read(namespace)
            state["active_color"] = words[2]
            cluster.write(namespace, state)
            cluster.notes.append(f"switch: {namespace}/churn-service now selects {words[2]}")
        elif talks_to_cluster(line):
            raise ClusterStepError(f"cluster command not checked offline here: {mask(line)[:200]}")
