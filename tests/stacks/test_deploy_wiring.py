"""deploy/ wiring: every reference a rendered overlay makes points at something real.

Each overlay is rendered offline (`kubectl kustomize`, no cluster), then `wiring_problems` checks:
- images: each one is built by a make target (mk/containers.mk's FRONTEND_IMAGES or bento-image);
- secrets and config maps (env, envFrom, volumes, keys): rendered by the overlay, or listed in
  deploy/external.yaml, the one list of what the operator creates outside kustomize;
- persistent volume claims: rendered by the overlay;
- entry points: the command is in the image (a Debian package its Dockerfile installs, a console
  script of its pinned requirements, or `python -m` a module its Dockerfile copies), and every
  repository file or module the arguments name exists and is copied into that image.
The checker is shown to catch dangling references by running it on edited copies of deploy/.
docker-compose.yml gets the same kind of check (`compose_problems`), and the Pushgateway and
Alertmanager containers are started for real from their manifests' argv (Debian's binaries).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from churn.monitoring.web_auth import write_secrets
from tests.fixtures.alert_chain import credentials, with_auth
from tests.fixtures.http import wait_for_http
from tests.fixtures.kustomize import (
    DEPLOY,
    OVERLAYS,
    Doc,
    render,
    rendered,
    secret_sources,
    volume_secrets,
)
from tests.fixtures.ports import free_port

REPO = Path(__file__).resolve().parents[2]
PYTHONS = {"python", "python3"}


# ------------------------------------------------------------------------------ what is built


@dataclass(frozen=True)
class Image:
    name: str
    dockerfile: Path
    copied: tuple[str, ...] = ()  # repository paths the Dockerfile COPYs (no --from)
    apt: frozenset[str] = frozenset()  # Debian packages it installs
    pip: frozenset[str] = frozenset()  # distributions of its pinned requirements
    own_entrypoint: bool = False  # the command comes from the image (bentoml containerize)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dockerfile_contents(dockerfile: Path, repo: Path) -> dict[str, Any]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    copied: list[str] = []
    apt: set[str] = set()
    pip: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("COPY ") and "--from" not in line:
            copied.extend(line.split()[1:-1])
        for packages in re.findall(r"apt-get install ([^&|;]+)", line):
            apt.update(p for p in packages.split() if not p.startswith("-"))
    for source in copied:
        if source.startswith("docker/requirements/") and source.endswith(".txt"):
            for req in (repo / source).read_text().splitlines():
                match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", req)
                if match:
                    pip.add(canonical(match.group(1)))
    return {"copied": tuple(copied), "apt": frozenset(apt), "pip": frozenset(pip)}


def built_images(repo: Path = REPO) -> dict[str, Image]:
    """Image name -> how mk/containers.mk builds it."""
    mk = re.sub(r"\\\n", " ", (repo / "mk/containers.mk").read_text())
    match = re.search(r"^FRONTEND_IMAGES\s*=\s*(.+)$", mk, re.M)
    assert match, "mk/containers.mk: no FRONTEND_IMAGES list"
    assert "for img in $(FRONTEND_IMAGES)" in mk, "frontend-images does not build FRONTEND_IMAGES"
    images = {}
    for pair in match.group(1).split():
        stem, _, name = pair.partition(":")
        dockerfile = repo / "docker" / f"{stem}.Dockerfile"
        images[name] = Image(name, dockerfile, **dockerfile_contents(dockerfile, repo))
    bento = re.search(
        r"^bento-image:.*?-t (churn-service):\$\(IMAGE_TAG\) docker$", mk, re.M | re.S
    )
    assert bento, "mk/containers.mk: bento-image does not tag churn-service"
    images["churn-service"] = Image(
        "churn-service", repo / "docker/bento/Dockerfile", own_entrypoint=True
    )
    return images


def image_name(ref: str) -> str:
    """ghcr.io/telco-churn/churn-flask:sha -> churn-flask."""
    ref = ref.split("@")[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":")[0]


# ------------------------------------------------------------------------------ the checker


def pod_spec(doc: Doc) -> Doc | None:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}:
        return spec["template"]["spec"]
    return None


@dataclass
class Defined:
    secrets: dict[str, set[str]] = field(default_factory=dict)
    configmaps: dict[str, set[str]] = field(default_factory=dict)
    claims: set[str] = field(default_factory=set)


def defined(docs: list[Doc] | tuple[Doc, ...], deploy: Path) -> Defined:
    external = yaml.safe_load((deploy / "external.yaml").read_text())
    out = Defined(
        secrets={n: set(s["keys"]) for n, s in (external.get("secrets") or {}).items()},
        configmaps={n: set(c["keys"]) for n, c in (external.get("configmaps") or {}).items()},
    )
    for doc in docs:
        name = doc["metadata"]["name"]
        keys = set(doc.get("data") or {}) | set(doc.get("stringData") or {})
        if doc["kind"] == "Secret":
            out.secrets[name] = keys
        elif doc["kind"] == "ConfigMap":
            out.configmaps[name] = keys | set(doc.get("binaryData") or {})
        elif doc["kind"] == "PersistentVolumeClaim":
            out.claims.add(name)
    return out


def _ref(
    where: str, kind: str, table: dict[str, set[str]], name: str, key: str | None
) -> list[str]:
    if name not in table:
        return [f"{where}: {kind} {name!r} is neither rendered nor in deploy/external.yaml"]
    if key is not None and key not in table[name]:
        return [f"{where}: {kind} {name!r} has no key {key!r}"]
    return []


def module_file(module: str, repo: Path, *, runnable: bool = False) -> str | None:
    """The file that importing `module` runs; with `runnable`, what `python -m module` runs (a
    package needs a __main__.py for that)."""
    base = module.replace(".", "/")
    candidates = [f"{base}.py", f"{base}/__main__.py"]
    if not runnable:
        candidates.append(f"{base}/__init__.py")
    for candidate in candidates:
        if (repo / candidate).is_file():
            return candidate
    return None


def in_image(path: str, image: Image) -> bool:
    return any(path == c.rstrip("/") or path.startswith(c.rstrip("/") + "/") for c in image.copied)


def entrypoint_problems(where: str, argv: list[str], image: Image, repo: Path) -> list[str]:
    problems = []
    command, args = argv[0], argv[1:]
    files: list[str] = []
    if command in PYTHONS:
        if args[:1] == ["-m"] and len(args) > 1:
            found = module_file(args[1], repo, runnable=True)
            if found is None:
                return [f"{where}: `python -m {args[1]}`: no runnable module in the repository"]
            files.append(found)
        elif args:
            files.append(args[0])
    elif command in image.apt or canonical(command) in image.pip:
        pass
    else:
        problems.append(f"{where}: command {command!r} is not installed in image {image.name}")
    for arg in args:
        value = arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg
        if value.endswith(".py") and not value.startswith("/"):
            files.append(value)
        elif command == "gunicorn" and re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w()]*", arg):
            found = module_file(value.split(":")[0], repo)
            if found is None:
                problems.append(f"{where}: gunicorn app {value!r}: no such module")
            else:
                files.append(found)
    for path in dict.fromkeys(files):
        if not (repo / path).is_file():
            problems.append(f"{where}: runs {path}, which does not exist in the repository")
        elif not in_image(path, image):
            problems.append(f"{where}: runs {path}, which {image.dockerfile.name} does not copy")
    return problems


def wiring_problems(
    docs: list[Doc] | tuple[Doc, ...], deploy: Path = DEPLOY, repo: Path = REPO
) -> list[str]:
    images = built_images(repo)
    have = defined(docs, deploy)
    problems: list[str] = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        owner = f"{doc['kind']}/{doc['metadata']['name']}"
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for vol in volumes.values():
            where = f"{owner} volume {vol['name']}"
            for secret, items in volume_secrets(vol):
                problems += _ref(where, "secret", have.secrets, secret, None)
                for item in items:
                    problems += _ref(where, "secret", have.secrets, secret, item["key"])
            if "configMap" in vol:
                problems += _ref(
                    where, "config map", have.configmaps, vol["configMap"]["name"], None
                )
            if "persistentVolumeClaim" in vol:
                claim = vol["persistentVolumeClaim"]["claimName"]
                if claim not in have.claims:
                    problems.append(f"{where}: claim {claim!r} is not rendered")
        for c in [*spec.get("initContainers", []), *spec["containers"]]:
            where = f"{owner} container {c['name']}"
            name = image_name(c["image"])
            image = images.get(name)
            if image is None:
                problems.append(f"{where}: image {c['image']!r} is built by no make target")
            for src in c.get("envFrom", []):
                if "secretRef" in src:
                    problems += _ref(where, "secret", have.secrets, src["secretRef"]["name"], None)
                if "configMapRef" in src:
                    ref = src["configMapRef"]["name"]
                    problems += _ref(where, "config map", have.configmaps, ref, None)
            for env in c.get("env", []):
                source = env.get("valueFrom", {})
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    problems += _ref(where, "secret", have.secrets, ref["name"], ref["key"])
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    problems += _ref(where, "config map", have.configmaps, ref["name"], ref["key"])
            for mount in c.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problems.append(f"{where}: mounts undeclared volume {mount['name']!r}")
            argv = [*c.get("command", []), *c.get("args", [])]
            if image is not None and not image.own_entrypoint:
                if not c.get("command"):
                    problems.append(f"{where}: names no command (image {name} has no fixed one)")
                else:
                    problems += entrypoint_problems(where, argv, image, repo)
            problems += mounted_file_problems(where, argv, c, volumes, have)
    return problems


def mounted_file_problems(
    where: str, argv: list[str], c: Doc, volumes: dict[str, Doc], have: Defined
) -> list[str]:
    """An absolute file an argument names under a config map mount is a key of that config map."""
    problems = []
    for arg in argv:
        value = arg.split("=", 1)[1] if "=" in arg else arg
        for mount in c.get("volumeMounts", []):
            prefix = mount["mountPath"].rstrip("/") + "/"
            vol = volumes.get(mount["name"], {})
            if value.startswith(prefix) and "configMap" in vol:
                name = vol["configMap"]["name"]
                key = value[len(prefix) :]
                if name in have.configmaps and key not in have.configmaps[name]:
                    problems.append(f"{where}: reads {value}, not a key of config map {name!r}")
    return problems


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_reference_in_the_overlay_resolves(overlay: str) -> None:
    docs = rendered(overlay)
    assert sum(pod_spec(d) is not None for d in docs) >= 5
    assert wiring_problems(docs) == []


def manifest_images() -> set[str]:
    """Every image name a container of a rendered overlay runs."""
    return {
        image_name(c["image"])
        for overlay in OVERLAYS
        for d in rendered(overlay)
        if (spec := pod_spec(d)) is not None
        for c in spec["containers"]
    }


def test_make_targets_build_the_images_the_manifests_name() -> None:
    images = built_images()
    for image in images.values():
        assert image.dockerfile.is_file(), image
    named = manifest_images()
    assert named == {
        "churn-service",
        "churn-flask",
        "churn-dashboard",
        "churn-monitor",
        "churn-observability",
    }
    assert named <= set(images)
    # the compose stack builds each of its images from those Dockerfiles too
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    for service, spec in compose["services"].items():
        if "build" in spec:
            name = image_name(spec["image"])
            assert name in images, service
            assert REPO / spec["build"]["dockerfile"] == images[name].dockerfile, service


def pushed_images(ci_mk: str) -> set[str]:
    match = re.search(r"^PUSHED_IMAGES\s*=\s*(.+)$", ci_mk, re.M)
    return set(match.group(1).split()) if match else set()


def push_problems(named: set[str], ci_mk: str, workflow: Doc) -> list[str]:
    """What keeps CI from building, pushing and deploying every image the manifests name."""
    pushed = pushed_images(ci_mk)
    problems = [
        f"{name}: a manifest runs it, but mk/ci.mk's PUSHED_IMAGES does not push it"
        for name in sorted(named - pushed - {"churn-service"})
    ]
    problems += [
        f"{name}: in PUSHED_IMAGES, but `make frontend-images` does not build it"
        for name in sorted(pushed - set(built_images()))
    ]
    runs = {
        job: [str(step.get("run", "")) for step in spec.get("steps", [])]
        for job, spec in workflow["jobs"].items()
    }
    for target in ("bento-image", "image-push", "manifest-images", "images-push"):
        if not any(re.match(rf"make {target}(\s|$)", run) for run in runs.get("image", [])):
            problems.append(f"the image job does not run `make {target}`")
    for job, target in (("deploy-staging", "deploy-staging"), ("deploy-production", "deploy-idle")):
        calls = [r for r in runs.get(job, []) if re.match(rf"make {target}(\s|$)", r)]
        if not any("IMAGE_REGISTRY=" in r and "GIT_SHA=" in r for r in calls):
            problems.append(f"{job}: `make {target}` is not given IMAGE_REGISTRY and GIT_SHA")
    return problems


def test_ci_builds_pushes_and_deploys_every_image_the_manifests_name() -> None:
    named = manifest_images()
    ci_mk = (REPO / "mk/ci.mk").read_text()
    workflow = yaml.safe_load((REPO / ".github/workflows/ml-pipeline.yml").read_text())
    assert push_problems(named, ci_mk, workflow) == []
    assert named - {"churn-service"} == pushed_images(ci_mk)
    # the check catches an image nobody pushes and a workflow that stops pushing
    assert push_problems(named | {"churn-extra"}, ci_mk, workflow) == [
        "churn-extra: a manifest runs it, but mk/ci.mk's PUSHED_IMAGES does not push it"
    ]
    dropped = ci_mk.replace(" churn-monitor", "", 1)
    assert any("churn-monitor" in p for p in push_problems(named, dropped, workflow))
    steps = workflow["jobs"]["image"]["steps"]
    workflow["jobs"]["image"]["steps"] = [
        s for s in steps if not str(s.get("run", "")).startswith("make images-push")
    ]
    assert push_problems(named, ci_mk, workflow) == [
        "the image job does not run `make images-push`"
    ]


def env_of(container: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container.get("env", [])}


def workloads(overlay: str, kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in rendered(overlay) if d["kind"] == kind}


DB_KEYS = {
    "churn-migrate": "prediction-db-url",  # the owner: the one role that changes the schema
    "churn-service": "service-db-url",
    "churn-events": "service-db-url",  # the consumer writes log rows as the service does
    "churn-flask": "ui-db-url",
    "churn-streamlit": "ui-db-url",
    "churn-monitor": "monitor-db-url",
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_part_reads_the_database_as_its_own_role(overlay: str) -> None:
    """#35: a URL per role (migration 0013), each a file of churn-secrets; blue and green
    service slots alike."""
    refs = {}
    for doc in [
        *workloads(overlay, "Deployment").values(),
        *workloads(overlay, "CronJob").values(),
        *workloads(overlay, "Job").values(),
    ]:
        spec = pod_spec(doc)
        assert spec is not None
        for c in spec["containers"]:
            ref = secret_sources(spec, c).get("CHURN_PREDICTION_DB")
            if ref is not None:
                name = doc["metadata"]["name"]
                part = "churn-service" if name.startswith("churn-service") else name
                refs.setdefault(part, set()).add(ref)
    assert refs == {part: {("churn-secrets", key)} for part, key in DB_KEYS.items()}, refs


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_service_reads_the_feature_store_as_files(overlay: str) -> None:
    """#33: the by-ID routes' Redis online store and registry, from churn-feature-store."""
    for name, doc in workloads(overlay, "Deployment").items():
        if not name.startswith("churn-service"):
            continue
        spec = pod_spec(doc)
        assert spec is not None
        read = secret_sources(spec, spec["containers"][0])
        assert read["CHURN_FEATURE_ONLINE_STORE"] == ("churn-feature-store", "online-store")
        assert read["CHURN_FEATURE_REGISTRY"] == ("churn-feature-store", "registry")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_monitoring_writes_reports_where_the_dashboard_reads_them(overlay: str) -> None:
    (config,) = [
        c for n, c in workloads(overlay, "ConfigMap").items() if n.startswith("churn-config")
    ]
    reports_dir = config["data"]["CHURN_REPORTS_DIR"]

    def claim_at(doc: Doc) -> tuple[str, bool]:
        spec = pod_spec(doc)
        assert spec is not None
        (c,) = spec["containers"]
        (mount,) = [m for m in c["volumeMounts"] if m["mountPath"] == reports_dir]
        volumes = {v["name"]: v for v in spec["volumes"]}
        return volumes[mount["name"]]["persistentVolumeClaim"]["claimName"], bool(
            mount.get("readOnly")
        )

    writer = claim_at(workloads(overlay, "CronJob")["churn-monitor"])
    reader = claim_at(workloads(overlay, "Deployment")["churn-streamlit"])
    assert writer[0] == reader[0] and writer == (writer[0], False) and reader[1]
    assert writer[0] in workloads(overlay, "PersistentVolumeClaim")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pushgateway_and_alertmanager_are_in_the_overlay(overlay: str) -> None:
    deployments = workloads(overlay, "Deployment")
    services = workloads(overlay, "Service")
    assert {"churn-pushgateway", "churn-alertmanager"} <= set(deployments)
    cron = pod_spec(workloads(overlay, "CronJob")["churn-monitor"])
    assert cron is not None
    url = env_of(cron["containers"][0])["CHURN_PUSHGATEWAY_URL"]["value"]
    host, port = re.fullmatch(r"http://([\w-]+):(\d+)", url).groups()  # type: ignore[union-attr]
    assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}
    selector = services[host]["spec"]["selector"].items()
    assert (
        selector
        <= deployments["churn-pushgateway"]["spec"]["template"]["metadata"]["labels"].items()
    )


def test_the_kubernetes_alertmanager_config_is_the_repositorys_but_for_the_relay_url() -> None:
    (config,) = [
        c
        for n, c in workloads("production", "ConfigMap").items()
        if n.startswith("churn-alertmanager")
    ]
    ours = yaml.safe_load(config["data"]["alertmanager.yml"])
    repo = yaml.safe_load((REPO / "monitoring/alertmanager.yml").read_text())
    urls = []
    for cfg in (ours, repo):
        for receiver in cfg["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                urls.append(hook.pop("url"))
    assert ours == repo
    assert urls[0] != urls[1] and "127.0.0.1" not in urls[0]
    amtool = shutil.which("amtool")
    assert amtool, "amtool (Debian prometheus-alertmanager) is required"
    proc = subprocess.run(
        [amtool, "check-config", str(DEPLOY / "base/observability/alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------ dangling copies


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


MUTATIONS = {
    "wrong secret name": (
        "base/common/monitor-cronjob.yaml",
        "name: churn-secrets\n                      items:",
        "name: churn-secret\n                      items:",
        "secret 'churn-secret' is neither rendered nor in deploy/external.yaml",
    ),
    "wrong secret key": (
        "base/service/deployment.yaml",
        "key: service-db-url",
        "key: database-url",
        "has no key 'database-url'",
    ),
    "image nobody builds": (
        "overlays/{overlay}/kustomization.yaml",
        "newName: ghcr.io/telco-churn/churn-dashboard",
        "newName: ghcr.io/telco-churn/churn-app",
        "'ghcr.io/telco-churn/churn-app:0.1.0' is built by no make target",
    ),
    "entry point not in the repository": (
        "base/common/streamlit.yaml",
        "frontends/streamlit_app/Home.py",
        "frontends/streamlit_app/app.py",
        "runs frontends/streamlit_app/app.py, which does not exist",
    ),
    "entry point not in the image": (
        "base/common/flask.yaml",
        "frontends.flask_app.wsgi:app",
        "pipelines.training:app",
        "runs pipelines/training.py, which flask.Dockerfile does not copy",
    ),
    "package without __main__": (
        "base/common/monitor-cronjob.yaml",
        '"-m", "churn.cli", "monitor"',
        '"-m", "churn", "monitor"',
        "`python -m churn`: no runnable module in the repository",
    ),
    "command not in the image": (
        "base/observability/pushgateway.yaml",
        'command: ["prometheus-pushgateway"]',
        'command: ["pushgateway"]',
        "command 'pushgateway' is not installed in image churn-observability",
    ),
    "config map file missing": (
        "base/observability/alertmanager.yaml",
        "--config.file=/etc/alertmanager/alertmanager.yml",
        "--config.file=/etc/alertmanager/config.yml",
        "not a key of config map",
    ),
    "claim not rendered": (
        "base/common/kustomization.yaml",
        "  - reports-pvc.yaml\n",
        "",
        "claim 'churn-reports' is not rendered",
    ),
}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_dangling_reference_in_a_copied_overlay_fails(
    mutation: str, overlay: str, tmp_path: Path
) -> None:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    relpath, old, new, expected = MUTATIONS[mutation]
    _edit(copy / relpath.format(overlay=overlay), old, new)
    problems = wiring_problems(render(copy / "overlays" / overlay), deploy=copy)
    assert any(expected in p for p in problems), problems


# ------------------------------------------------------------------------------ compose


def compose_problems(spec: Doc, repo: Path = REPO) -> list[str]:
    """docker-compose.yml: local images only, each part's database URL a secret file of its own
    role on the compose PostgreSQL (deploy/compose_secrets.py), the reports volume shared by the
    monitoring job and the dashboard, the Pushgateway's address."""
    images = built_images(repo)
    services = spec["services"]
    built_here = {image_name(s["image"]) for s in services.values() if "build" in s}
    problems = []
    for name, svc in services.items():
        image = image_name(svc["image"].rsplit(":-", 1)[-1].rstrip("}"))
        if "build" in svc:
            args = svc["build"].get("args", {})
            if args.get("BASE_IMAGE") != "${CHURN_BASE_IMAGE:-churn-base:bookworm}":
                problems.append(f"{name}: not built on the local base image")
            if (
                images.get(image) is None
                or repo / svc["build"]["dockerfile"] != images[image].dockerfile
            ):
                problems.append(f"{name}: image {image} is not what its make target builds")
        elif image not in built_here | {"churn-service"} and "grafana" not in svc.get(
            "profiles", []
        ):
            problems.append(f"{name}: image {svc['image']} would be pulled from a registry")
    pg = services["postgres"]["environment"]
    where = f"{pg['PGHOST']}:{pg['PGPORT']}/{pg['CHURN_DB_NAME']}"
    written = (repo / "deploy" / "compose_secrets.py").read_text()
    if f'DB_HOST = "{pg["PGHOST"]}:{pg["PGPORT"]}"' not in written:
        problems.append(f"deploy/compose_secrets.py does not write URLs of {where}")
    for name in ("churn-service", "monitor", "migrate", "flask", "dashboard"):
        files = {
            s["target"]: spec["secrets"][s["source"]]["file"]
            for s in services[name].get("secrets", [])
        }
        if "CHURN_PREDICTION_DB" in services[name]["environment"] or not files.get(
            "CHURN_PREDICTION_DB", ""
        ).startswith(f"./deploy/local/secrets/{name}/"):
            problems.append(
                f"{name}: CHURN_PREDICTION_DB is not the compose PostgreSQL's ({where})"
            )
    mounts = {}
    for name in ("monitor", "dashboard"):
        env = services[name]["environment"]
        at = {m.split(":")[1]: m.split(":")[0] for m in services[name].get("volumes", [])}
        mounts[name] = at.get(env.get("CHURN_REPORTS_DIR", ""))
    if mounts["monitor"] is None or mounts["monitor"] != mounts["dashboard"]:
        problems.append(f"monitor and dashboard do not share the reports volume: {mounts}")
    push = services["monitor"]["environment"].get("CHURN_PUSHGATEWAY_URL", "")
    if not push or push.rsplit(":", 1)[-1] not in json_text(services["pushgateway"]["command"]):
        problems.append(f"monitor: CHURN_PUSHGATEWAY_URL {push!r} is not the Pushgateway's")
    return problems


def json_text(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value)


def compose_spec() -> Doc:
    """docker-compose.yml with its YAML anchors and merge keys resolved."""
    spec: Doc = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return spec


def test_compose_stack_is_local_and_wired() -> None:
    spec = compose_spec()
    assert {
        "postgres",
        "prometheus",
        "pushgateway",
        "alertmanager",
        "churn-service",
        "flask",
        "dashboard",
    } <= set(spec["services"])
    assert compose_problems(spec) == []


@pytest.mark.parametrize(
    ("service", "key", "value", "expected"),
    [
        ("prometheus", "image", "prom/prometheus:v3.5.0", "would be pulled"),
        ("monitor", "environment.CHURN_PREDICTION_DB", "sqlite:////tmp/p.db", "not the compose"),
        ("flask", "build.args.BASE_IMAGE", "python:3.11-slim-bookworm", "not built on the local"),
        ("dashboard", "volumes", ["other:/var/lib/churn/reports:ro"], "do not share"),
    ],
)
def test_compose_check_catches_a_broken_copy(
    service: str, key: str, value: Any, expected: str
) -> None:
    spec = compose_spec()
    target = spec["services"][service]
    *path, last = key.split(".")
    for part in path:
        target[part] = dict(target[part])
        target = target[part]
    if last == "image" and "build" in target:
        del target["build"]
    target[last] = value
    problems = compose_problems(spec)
    assert any(expected in p for p in problems), problems


# ------------------------------------------------------------------------------ observability


@pytest.mark.parametrize("name", ["churn-pushgateway", "churn-alertmanager"])
def test_observability_containers_start_from_their_manifest_and_answer_their_probes(
    name: str, tmp_path: Path
) -> None:
    """The manifest's own argv (Debian's binaries, as in churn-observability), the listen address
    moved to a loopback port and the mounted files to their sources (the web config of the
    churn-monitoring-auth Secret written by `churn monitoring-auth`); then its probes (a TCP
    connect: every path takes basic auth), and the lock: 401 anonymously, 200 signed in."""
    spec = pod_spec(workloads("production", "Deployment")[name])
    assert spec is not None
    (c,) = spec["containers"]
    port = free_port()
    write_secrets(tmp_path / "auth", {}, rounds=4)
    server = name.removeprefix("churn-")
    mounted = {
        "/etc/alertmanager/alertmanager.yml": str(DEPLOY / "base/observability/alertmanager.yml"),
        "/alertmanager": str(tmp_path),
        f"/etc/churn-monitoring/{server}.web.yml": str(tmp_path / "auth" / f"{server}.web.yml"),
    }
    argv = []
    for arg in [*c["command"], *c.get("args", [])]:
        if arg.startswith("--web.listen-address="):
            arg = f"--web.listen-address=127.0.0.1:{port}"
        for inside, outside in mounted.items():
            arg = arg.replace(f"={inside}", f"={outside}")
        argv.append(arg)
    assert f"--web.config.file={mounted[f'/etc/churn-monitoring/{server}.web.yml']}" in argv
    binary = shutil.which(argv[0])
    assert binary, f"{argv[0]} is not installed (Debian package of the same name)"
    log = (tmp_path / "log").open("w")
    proc = subprocess.Popen([binary, *argv[1:]], stdout=log, stderr=log)
    try:
        assert (
            c["readinessProbe"]["tcpSocket"] == c["livenessProbe"]["tcpSocket"] == {"port": "http"}
        )
        url = f"http://127.0.0.1:{port}/-/ready"
        wait_for_http(with_auth(url, credentials(tmp_path / "auth")[server]), 30, process=proc)
        anonymous = requests.get(url, timeout=5)
        assert anonymous.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ------------------------------------------------------ CI and the cluster: one server, one DB

DEPLOY_JOBS = {"staging": "deploy-staging", "production": "deploy-production"}
SHARED = ("ZENML_STORE_URL", "ZENML_STORE_API_KEY", "CHURN_PREDICTION_DB")
MODEL_JOBS = ("data-validation", "train", "image")


def cluster_reads(docs: list[Doc] | tuple[Doc, ...]) -> dict[str, set[tuple[str, str]]]:
    """Variable -> the (secret, key) pairs the service and the monitoring CronJob read it from;
    the database's owner URL (CI's CHURN_PREDICTION_DB) from the migrate Job, the one part that
    signs in as the owner (the others have their own roles on the same database)."""
    reads: dict[str, set[tuple[str, str]]] = {}
    for doc in docs:
        spec = pod_spec(doc)
        if doc["kind"] not in ("Deployment", "CronJob", "Job") or spec is None:
            continue
        for container in spec["containers"]:
            for name, ref in secret_sources(spec, container).items():
                if name in SHARED and (name == "CHURN_PREDICTION_DB") == (doc["kind"] == "Job"):
                    reads.setdefault(name, set()).add(ref)
    return reads


def ci_writes(workflow: Doc, job: str) -> tuple[str | None, dict[str, str], dict[str, str]]:
    """The namespace `make cluster-secrets` is given in `job`, the step's env, and which secret
    key it sets from which variable (its dry-run recipe, fed a marker per variable)."""
    step = next(
        (
            s
            for s in workflow["jobs"][job]["steps"]
            if str(s.get("run", "")).startswith("make cluster-secrets")
        ),
        None,
    )
    if step is None:
        return None, {}, {}
    namespace = re.search(r"NAMESPACE=(\S+)", step["run"])
    markers = {v: f"zz-{v.lower()}-zz" for v in SHARED}
    proc = subprocess.run(
        ["make", "-n", "--no-print-directory", "cluster-secrets", "NAMESPACE=x"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **markers},
    )
    recipe = re.sub(r"\\\n\s*", " ", proc.stdout)
    recipe = re.sub(r"\$(\w+)", lambda m: markers.get(m.group(1), m.group(0)), recipe)
    patch = json.loads(shlex.split(recipe.split(" -p ", 1)[1])[0])
    by_marker = {v: k for k, v in markers.items()}
    sets = {key: by_marker.get(value, "?") for key, value in patch["stringData"].items()}
    return namespace.group(1) if namespace else None, dict(step.get("env", {})), sets


def one_server_problems(
    overlay: str, docs: list[Doc] | tuple[Doc, ...], workflow: Doc
) -> list[str]:
    problems = []
    reads = cluster_reads(docs)
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] == "CronJob"}
    namespace, env, sets = ci_writes(workflow, DEPLOY_JOBS[overlay])
    if namespace is None:
        return [f"{DEPLOY_JOBS[overlay]}: no `make cluster-secrets` step"]
    if {namespace} != namespaces:
        problems.append(
            f"cluster-secrets writes namespace {namespace}, the overlay is {namespaces}"
        )
    for var in SHARED:
        pairs = reads.get(var, set())
        if len(pairs) != 1:
            problems.append(f"{var}: the cluster reads it from {sorted(pairs) or 'nowhere'}")
            continue
        secret, key = next(iter(pairs))
        if secret != "churn-secrets" or sets.get(key) != var:
            problems.append(
                f"{var}: the cluster reads {secret}/{key}, CI sets it from {sets.get(key)}"
            )
        ours = env.get(var)
        for job in MODEL_JOBS:
            theirs = workflow["jobs"][job].get("env", {}).get(var)
            if theirs != ours or not str(ours).startswith("${{ secrets."):
                problems.append(f"{var}: {job} reads {theirs}, the cluster gets {ours}")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ci_the_service_and_the_cronjob_share_one_zenml_server_and_database(overlay: str) -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows/ml-pipeline.yml").read_text())
    docs = rendered(overlay)
    assert one_server_problems(overlay, docs, workflow) == []
    # a CronJob reading another key, and a deploy job feeding another secret, are both caught
    moved = yaml.safe_load(
        yaml.safe_dump(list(docs)).replace("key: zenml-store-url", "key: zenml-url")
    )
    assert any(
        "ZENML_STORE_URL: the cluster reads churn-secrets/zenml-url" in p
        for p in one_server_problems(overlay, moved, workflow)
    )
    job = DEPLOY_JOBS[overlay]
    step = next(
        s
        for s in workflow["jobs"][job]["steps"]
        if str(s.get("run", "")).startswith("make cluster-secrets")
    )
    step["env"]["CHURN_PREDICTION_DB"] = "${{ secrets.OTHER_DB }}"
    assert any(
        "CHURN_PREDICTION_DB: train reads" in p
        for p in one_server_problems(overlay, docs, workflow)
    )
