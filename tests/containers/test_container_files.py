"""Static checks of the container files: docker-compose.yml, the Dockerfiles, pinned requirements.

What is checked here (no Docker engine needed; the images themselves are built and run by
`make container-test`, never from pytest):
- docker-compose.yml validates against the Compose Specification JSON schema vendored by
  check-jsonschema (`vendor.compose-spec`), and, where a compose CLI exists (`docker compose` or
  `docker-compose`), `config --quiet` accepts it too; Debian's docker.io ships neither, so that
  one test skips with the reason;
- every compose service has a health check and CPU + memory limits, binds loopback only, uses only
  declared named volumes, and mounts files that exist; Prometheus's loopback targets are served by
  compose services;
- every Dockerfile ends as a non-root USER with a HEALTHCHECK; the Python images are multi-stage and
  install `--require-hashes` from docker/requirements/*.txt, whose pins equal uv.lock's;
- .dockerignore lets through every path a Dockerfile copies.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE_FILE = REPO / "docker-compose.yml"
PYTHON_IMAGES = ("flask", "streamlit", "mlflow", "monitor")
DEBIAN_IMAGES = ("observability", "postgres", "edge")  # Debian packages on the base image
ALL_DOCKERFILES = [DOCKER / f"{n}.Dockerfile" for n in (*PYTHON_IMAGES, *DEBIAN_IMAGES)] + [
    DOCKER / "bento/Dockerfile"
]

pytestmark = pytest.mark.timeout(120)


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_versions() -> dict[str, str]:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return {canonical(p["name"]): p["version"] for p in lock["package"] if "version" in p}


# ------------------------------------------------------------------------------------ compose


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Errors against the Compose Specification (draft 2020-12) vendored by check-jsonschema."""
    import jsonschema
    from check_jsonschema.builtin_schemas import get_builtin_schema

    schema = get_builtin_schema("vendor.compose-spec")
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_matches_the_compose_spec_schema() -> None:
    errors = schema_errors(compose())
    assert not errors, "\n".join(errors)


def test_compose_schema_check_rejects_a_broken_file() -> None:
    """The schema check above is not vacuous: an unknown key and a bad value are caught."""
    broken = compose()
    broken["services"]["flask"]["not_a_compose_key"] = True
    broken["services"]["grafana"]["depends_on"]["prometheus"]["condition"] = "when_ready"
    errors = schema_errors(broken)
    assert any("not_a_compose_key" in e for e in errors), errors
    assert any("when_ready" in e for e in errors), errors


def compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_accepts_the_file() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip(
            "no `docker compose` plugin nor `docker-compose` here; schema check above covers it"
        )
    # no secret is a variable any more (they are files): the file resolves with none set
    proc = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=REPO, env={"PATH": "/usr/bin:/bin:/usr/local/bin"}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_every_service_has_a_healthcheck_and_limits() -> None:
    for name, service in compose()["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"{name}: no healthcheck"
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert "cpus" in limits and "memory" in limits, f"{name}: no cpu/memory limits"


def test_services_bind_loopback_only() -> None:
    for name, service in compose()["services"].items():
        assert service.get("network_mode") == "host", f"{name}: expected the host network"
        assert "ports" not in service, f"{name}: ports are meaningless on the host network"
        text = json.dumps(service)
        assert "0.0.0.0" not in text, f"{name}: binds a wildcard address"
        if service.get("command") == ["db", "migrate"]:
            continue  # the one-shot migration listens nowhere
        env = service.get("environment", {})
        command = " ".join(service.get("command", []))
        binds = (
            *(
                env.get(k)
                for k in (
                    "HOST",
                    "BENTOML_HOST",
                    "GF_SERVER_HTTP_ADDR",
                    "PGHOST",
                    "CHURN_KAFKA_METRICS_ADDRESS",
                )
            ),
            command,
        )
        assert any(b and "127.0.0.1" in b for b in binds), f"{name}: no loopback bind address"


def test_named_volumes_are_declared_and_bind_mounts_exist() -> None:
    spec = compose()
    declared = set(spec.get("volumes", {}))
    used = set()
    for name, service in spec["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./deploy/local/"):
                continue  # made by `make compose-up` (git-ignored): the first admin's folder
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name}: mounts missing {source}"
            else:
                assert source in declared, f"{name}: volume {source} not declared"
                used.add(source)
        build = service.get("build")
        if build:
            assert (REPO / build["context"] / build["dockerfile"]).is_file(), name
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_prometheus_targets_are_compose_services() -> None:
    """monitoring/prometheus.yml scrapes loopback ports: each must be a service of the stack."""
    prom = yaml.safe_load((REPO / "monitoring/prometheus.yml").read_text())
    targets = {
        t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    }
    served: set[str] = set()
    for service in compose()["services"].values():
        text = json.dumps(service)
        served.update(f"127.0.0.1:{p}" for p in re.findall(r"127\.0\.0\.1:(\d+)", text))
        env = service.get("environment", {})
        for key in (
            "BENTOML_PORT",
            "FLASK_PORT",
            "STREAMLIT_PORT",
            "MLFLOW_PORT",
            "CHURN_KAFKA_METRICS_PORT",
        ):
            if key in env:
                served.add(f"127.0.0.1:{env[key]}")
    assert targets <= served, f"Prometheus targets nothing serves: {targets - served}"


def test_grafana_gets_the_provisioned_dashboard() -> None:
    grafana = compose()["services"]["grafana"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning/dashboards"] == (
        "./monitoring/grafana/provisioning/dashboards"
    )
    # the datasource: the shipped one with its password from a secret file (test_grafana_dashboards)
    assert mounts["/etc/grafana/provisioning/datasources"] == "./deploy/grafana/datasources"
    dashboards = grafana["environment"]["CHURN_GRAFANA_DASHBOARDS"]
    assert (REPO / mounts[dashboards].lstrip("./")).is_dir()
    assert list((REPO / "monitoring/grafana/dashboards").glob("*.json"))


# ------------------------------------------------------------------------------------ Dockerfiles


@pytest.mark.parametrize("dockerfile", ALL_DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_runs_as_non_root_with_a_healthcheck(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    users = [arg for kw, arg in steps if kw == "USER"]
    assert users, f"{dockerfile.name}: no USER"
    assert users[-1].split(":")[0] not in ("root", "0"), f"{dockerfile.name}: ends as root"
    health = [arg for kw, arg in steps if kw == "HEALTHCHECK"]
    assert health and "CMD" in health[-1], f"{dockerfile.name}: no HEALTHCHECK"
    last_from = max(i for i, (kw, _) in enumerate(steps) if kw == "FROM")
    assert any(kw == "USER" for kw, _ in steps[last_from:]), "USER must be in the final stage"


@pytest.mark.parametrize("image", PYTHON_IMAGES)
def test_python_images_are_multi_stage_and_install_hashed_pins(image: str) -> None:
    steps = instructions(DOCKER / f"{image}.Dockerfile")
    assert sum(kw == "FROM" for kw, _ in steps) >= 2, "not multi-stage"
    assert any(kw == "COPY" and arg.startswith("--from=build") for kw, arg in steps)
    copies = [arg for kw, arg in steps if kw == "COPY" and f"requirements/{image}.txt" in arg]
    assert copies, f"{image}: does not copy docker/requirements/{image}.txt"
    runs = " ".join(arg for kw, arg in steps if kw == "RUN")
    assert "--require-hashes" in runs and "--no-deps" in runs


@pytest.mark.parametrize("image", PYTHON_IMAGES)
def test_requirements_are_the_locks_pins_with_hashes(image: str) -> None:
    text = (DOCKER / "requirements" / f"{image}.txt").read_text()
    locked = lock_versions()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2].strip())
    assert blocks
    for block in blocks:
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", block)
        assert match, f"{image}: unpinned line {block.splitlines()[0]!r}"
        name, version = canonical(match.group(1)), match.group(2)
        assert locked.get(name) == version, (
            f"{image}: {name}=={version}, lock has {locked.get(name)}"
        )
        assert "--hash=sha256:" in block, f"{image}: {name} has no hash"
    pinned = {canonical(re.match(r"[A-Za-z0-9._-]+", b).group(0)) for b in blocks}  # type: ignore[union-attr]
    wanted = [
        canonical(line.split("#")[0].split("[")[0].strip())  # zenml[server] -> zenml
        for line in (DOCKER / "requirements" / f"{image}.in").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert set(wanted) <= pinned, f"{image}: .in names missing from .txt: {set(wanted) - pinned}"


def dockerignore_allows(path: str) -> bool:
    """Evaluate the root .dockerignore (last matching pattern wins) for one context path."""
    allowed = True
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if pattern == "*" or path == pattern or path.startswith(pattern + "/"):
            allowed = negate
    return allowed


@pytest.mark.parametrize("image", PYTHON_IMAGES)
def test_dockerignore_lets_the_copied_files_through(image: str) -> None:
    for kw, arg in instructions(DOCKER / f"{image}.Dockerfile"):
        if kw != "COPY" or arg.startswith("--from"):
            continue
        for source in [a for a in arg.split() if not a.startswith("--")][:-1]:
            assert dockerignore_allows(source.rstrip("/")), f"{image}: .dockerignore drops {source}"
    assert not dockerignore_allows(".venv") and not dockerignore_allows("data/raw/x.csv")


def test_shell_helpers_parse() -> None:
    for script in (
        DOCKER / "engine.sh",
        DOCKER / "host.sh",
        DOCKER / "base/build_base.sh",
        REPO / "scripts/container_test.sh",
    ):
        proc = subprocess.run(
            ["bash", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, f"{script.name}: {proc.stderr}"
