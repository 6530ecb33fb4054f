"""The container smoke test behind `make container-test` (not collected by pytest).

Run by scripts/container_test.sh once a private Docker engine is up (DOCKER_HOST set) and the local
base image exists. It trains a small model into a temporary BentoML store, builds the Bento (with
the local base image swapped in), containerizes it, builds the Flask and Streamlit images, runs all
three with `--network host` bound to 127.0.0.1 on free ports, and checks them over HTTP: /readyz,
predictions equal to the in-process pipeline's (1e-9), the Flask home page, the dashboard's health
endpoint, the images' health checks and non-root users. Figures go to
$CHURN_REPORTS_DIR/containers/smoke.json.

    python tests/containers/container_smoke.py --workdir DIR --base-image churn-base:bookworm
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fixtures.http import wait_for_http
from tests.fixtures.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-9
READY_TIMEOUT_S = 180.0
HEALTHY_TIMEOUT_S = 120.0


@dataclass
class Outcome:
    """Pass/fail lines, step timings and image figures, printed and saved at the end."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        ok = bool(ok)  # numpy booleans are not JSON
        self.checks.append((name, ok, detail))
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}{': ' + detail if detail else ''}", flush=True)
        return ok

    @property
    def failed(self) -> int:
        return sum(1 for _, ok, _ in self.checks if not ok)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        print(f"container-test: {step} ...", flush=True)
        start = time.monotonic()
        try:
            yield
        finally:
            self.timings[step] = round(time.monotonic() - start, 1)
            print(f"container-test: {step} took {self.timings[step]} s", flush=True)


def isolate(workdir: Path) -> None:
    """Every store this run touches lives under `workdir` (set before bentoml is imported)."""
    os.environ["BENTOML_HOME"] = str(workdir / "bentoml")
    os.environ["ZENML_CONFIG_PATH"] = str(workdir / "zenml")
    os.environ["CHURN_MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'mlruns.db'}"
    os.environ["CHURN_PREDICTION_DB"] = f"sqlite:///{workdir / 'predictions.db'}"
    os.environ["CHURN_REPORTS_DIR"] = str(workdir / "reports")
    os.environ["BENTOML_DO_NOT_TRACK"] = "True"
    os.environ["DOCKER_BUILDKIT"] = "0"


def run(cmd: list[str], log: Path, cwd: Path = REPO_ROOT) -> None:
    """Run a build command, its output in `log`; raise with the log's tail when it fails."""
    with log.open("w") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{tail}")


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True, timeout=120
    ).stdout.strip()


# ---------------------------------------------------------------------------------------- model


def train_model(rows: int = 2000) -> tuple[Any, Any]:
    """The shipped family, built by the pipeline's candidate factory on generated customers and
    saved as the contract's `telco_churn` model (tests/fixtures/promotable.py); it and its data."""
    import bentoml

    from churn.generator import generate
    from tests.fixtures.promotable import SHIPPED_FAMILY, save_candidate

    frame = generate(rows, seed=7)
    saved = save_candidate(SHIPPED_FAMILY, frame, version="container-smoke-1", threshold=0.5)
    return bentoml.sklearn.load_model(saved), frame


def build_bento(base_image: str, workdir: Path) -> str:
    """`bentoml build` of the project's bentofile.yaml with only the base image swapped."""
    import bentoml
    import yaml

    config = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())
    docker_opts = dict(config.get("docker") or {})
    # BentoML ignores distro/python_version once base_image is set (and warns): drop them.
    docker_opts = {k: v for k, v in docker_opts.items() if k not in ("distro", "python_version")}
    docker_opts["base_image"] = base_image
    config["docker"] = docker_opts
    bentofile = workdir / "bentofile.smoke.yaml"
    bentofile.write_text(yaml.safe_dump(config, sort_keys=False))
    bento = bentoml.bentos.build_bentofile(str(bentofile), build_ctx=str(REPO_ROOT))
    return str(bento.tag)


# ---------------------------------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageBuild:
    name: str
    tag: str
    commands: list[list[str]]


def image_builds(bento_tag: str, base_image: str) -> list[ImageBuild]:
    bento_raw = "churn-service:smoke-bento"
    host = ["--network", "host"]
    base = ["--build-arg", f"BASE_IMAGE={base_image}"]
    return [
        ImageBuild(
            "churn-service",
            "churn-service:smoke",
            [
                [
                    sys.executable,
                    "-m",
                    "bentoml",
                    "containerize",
                    bento_tag,
                    "-t",
                    bento_raw,
                    "--backend",
                    "docker",
                    "--opt",
                    "network=host",
                ],
                [
                    "docker",
                    "build",
                    *host,
                    "-f",
                    "docker/bento/Dockerfile",
                    "--build-arg",
                    f"BENTO_IMAGE={bento_raw}",
                    "-t",
                    "churn-service:smoke",
                    "docker",
                ],
            ],
        ),
        ImageBuild(
            "flask",
            "churn-flask:smoke",
            [
                [
                    "docker",
                    "build",
                    *host,
                    *base,
                    "-f",
                    "docker/flask.Dockerfile",
                    "-t",
                    "churn-flask:smoke",
                    ".",
                ]
            ],
        ),
        ImageBuild(
            "streamlit",
            "churn-dashboard:smoke",
            [
                [
                    "docker",
                    "build",
                    *host,
                    *base,
                    "-f",
                    "docker/streamlit.Dockerfile",
                    "-t",
                    "churn-dashboard:smoke",
                    ".",
                ]
            ],
        ),
    ]


def build_image(build: ImageBuild, logs: Path) -> float:
    start = time.monotonic()
    for i, cmd in enumerate(build.commands):
        run(cmd, logs / f"build-{build.name}-{i}.log")
    return time.monotonic() - start


# ---------------------------------------------------------------------------------------- HTTP


def wait_healthy(container: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    status = "unknown"
    while time.monotonic() < deadline:
        status = docker("inspect", "-f", "{{.State.Health.Status}}", container)
        if status in ("healthy", "unhealthy"):
            return status
        time.sleep(2)
    return status


def run_container(name: str, image: str, env: dict[str, str]) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    flags = [item for key, value in env.items() for item in ("-e", f"{key}={value}")]
    docker("run", "-d", "--name", name, "--network", "host", "--memory", "2g", *flags, image)


# ---------------------------------------------------------------------------------------- checks


def create_token(container: str) -> str:
    """An admin token made inside the service container with the project's CLI (`churn auth
    token create`), in the database the service reads its tokens from (its default SQLite)."""
    out = docker(
        "exec", "-w", "/home/bentoml/bento/src", container,
        "python", "-m", "churn.cli", "auth", "token", "create", "container-smoke",
        "--scope", "admin", "--actor", "container-test",
    )  # fmt: skip
    return out.splitlines()[-1].strip()


def wait_for_token(url: str, record: dict[str, Any], auth: dict[str, str]) -> Any:
    """The first answer once the workers have reloaded their token digests (every
    CHURN_AUTH_REFRESH_S, 5 s by default): 401 until then, for at most 30 s."""
    import requests

    deadline = time.monotonic() + 30
    while True:
        got = requests.post(f"{url}/predict", json={"customer": record}, headers=auth, timeout=30)
        if got.status_code != 401 or time.monotonic() > deadline:
            return got
        time.sleep(1)


def check_service(out: Outcome, url: str, pipeline: Any, frame: Any, token: str) -> None:
    import numpy as np
    import requests

    from churn.schema import FEATURE_NAMES

    records = json.loads(frame[list(FEATURE_NAMES)].head(20).to_json(orient="records"))
    expected = pipeline.predict_proba(frame[list(FEATURE_NAMES)].head(20))[:, 1]
    anonymous = requests.post(f"{url}/predict", json={"customer": records[0]}, timeout=30)
    out.check(
        "service refuses a prediction without a token (401)",
        anonymous.status_code == 401,
        f"HTTP {anonymous.status_code}",
    )
    auth = {"Authorization": f"Bearer {token}"}
    one = wait_for_token(url, records[0], auth)
    got = one.json().get("churn_probability") if one.ok else None
    out.check(
        "service /predict equals the in-process pipeline",
        got is not None and abs(got - expected[0]) <= TOLERANCE,
        f"HTTP {one.status_code}, container {got!r}, in-process {expected[0]!r}",
    )
    batch = requests.post(
        f"{url}/predict_batch", json={"customers": records}, headers=auth, timeout=60
    )
    probs = (
        [p["churn_probability"] for p in batch.json().get("predictions", [])] if batch.ok else []
    )
    worst = float(np.max(np.abs(np.asarray(probs) - expected))) if len(probs) == 20 else None
    out.check(
        "service /predict_batch (20 rows) equals the in-process pipeline",
        worst is not None and worst <= TOLERANCE,
        f"HTTP {batch.status_code}, max |diff| {worst}",
    )
    bad = dict(records[0], tenure=-5)
    rejected = requests.post(f"{url}/predict", json={"customer": bad}, headers=auth, timeout=30)
    out.check(
        "service rejects a bad record with a 4xx naming the field",
        400 <= rejected.status_code < 500 and "tenure" in rejected.text,
        f"HTTP {rejected.status_code}",
    )


def check_containers(out: Outcome, names: list[str]) -> None:
    for name in names:
        uid = docker("exec", name, "id", "-u")
        out.check(f"{name} runs as a non-root user", uid != "0", f"uid {uid}")
    with ThreadPoolExecutor(len(names)) as pool:
        statuses = dict(
            zip(names, pool.map(lambda n: wait_healthy(n, HEALTHY_TIMEOUT_S), names), strict=True)
        )
    for name, status in statuses.items():
        out.check(f"{name} HEALTHCHECK reports healthy", status == "healthy", status)


def image_figures(builds: list[ImageBuild], seconds: dict[str, float]) -> dict[str, dict[str, Any]]:
    figures = {}
    for build in builds:
        size = int(docker("image", "inspect", "-f", "{{.Size}}", build.tag))
        figures[build.name] = {
            "tag": build.tag,
            "size_mb": round(size / 1e6, 1),
            "build_seconds": round(seconds[build.name], 1),
        }
    return figures


def dump_logs(names: list[str], logs: Path) -> None:
    for name in names:
        proc = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False)
        (logs / f"container-{name}.log").write_text(proc.stdout + proc.stderr)
        print(f"--- last lines of {name}'s log ---")
        print("\n".join((proc.stdout + proc.stderr).splitlines()[-25:]))


# ---------------------------------------------------------------------------------------- main


def smoke(workdir: Path, base_image: str, out: Outcome, skip_chain: bool = False) -> None:
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with out.timed("train the model into a temporary BentoML store"):
        pipeline, frame = train_model()
    with out.timed("bentoml build"):
        bento_tag = build_bento(base_image, workdir)
    builds = image_builds(bento_tag, base_image)
    with out.timed("build the three images (in parallel)"), ThreadPoolExecutor(3) as pool:
        seconds = dict(
            zip(
                [b.name for b in builds],
                pool.map(lambda b: build_image(b, logs), builds),
                strict=True,
            )
        )
    out.images = image_figures(builds, seconds)
    for name, fig in out.images.items():
        print(f"  image {name}: {fig['size_mb']} MB, built in {fig['build_seconds']} s")

    ports = {"service": free_port(), "flask": free_port(), "streamlit": free_port()}
    service_url = f"http://127.0.0.1:{ports['service']}"
    names = ["churn-smoke-service", "churn-smoke-flask", "churn-smoke-dashboard"]
    try:
        with out.timed("start the containers and wait for them"):
            run_container(
                names[0],
                "churn-service:smoke",
                {
                    "BENTOML_HOST": "127.0.0.1",
                    "BENTOML_PORT": str(ports["service"]),
                    "CHURN_SERVICE_WORKERS": "1",
                    "CHURN_PREDICTION_DB": "sqlite:////home/bentoml/data/predictions.db",
                },
            )
            common = {"HOST": "127.0.0.1", "CHURN_SERVICE_URL": service_url}
            run_container(
                names[1],
                "churn-flask:smoke",
                {
                    **common,
                    "FLASK_PORT": str(ports["flask"]),
                    "FLASK_SECRET_KEY": secrets.token_hex(16),
                    "CHURN_UI_WORKERS": "1",
                },
            )
            run_container(
                names[2],
                "churn-dashboard:smoke",
                {**common, "STREAMLIT_PORT": str(ports["streamlit"])},
            )
            wait_for_http(f"{service_url}/readyz", READY_TIMEOUT_S, interval_s=1.0)
        out.check("service /readyz answers 200", True, service_url)
        check_service(out, service_url, pipeline, frame, create_token(names[0]))
        home = wait_for_http(f"http://127.0.0.1:{ports['flask']}/", 60, interval_s=1.0)
        out.check(
            "Flask home page answers 200 with HTML",
            "<html" in home.text.lower() and "churn" in home.text.lower(),
            f"{len(home.text)} bytes",
        )
        health = wait_for_http(
            f"http://127.0.0.1:{ports['streamlit']}/_stcore/health", 90, interval_s=1.0
        )
        out.check("dashboard /_stcore/health answers ok", health.text.strip() == "ok", health.text)
        with out.timed("wait for the HEALTHCHECKs"):
            check_containers(out, names)
    except Exception as exc:
        out.check("smoke run completed", False, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if out.failed:
            dump_logs(names, logs)
        for name in names:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    if skip_chain:
        return
    from tests.containers.compose_chain import run_chain

    images = {
        "base": base_image,
        "service": "churn-service:smoke",
        "flask": "churn-flask:smoke",
        "dashboard": "churn-dashboard:smoke",
    }
    try:
        run_chain(workdir, images, out, frame, use_auth=True)
    except Exception as exc:
        out.check("compose chain completed", False, f"{type(exc).__name__}: {exc}")
        raise


def save_report(out: Outcome, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "passed": len(out.checks) - out.failed,
                "failed": out.failed,
                "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in out.checks],
                "timings_s": out.timings,
                "images": out.images,
            },
            indent=1,
        )
        + "\n"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="container smoke test (make container-test)")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--base-image", default="churn-base:bookworm")
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument(
        "--no-chain", action="store_true", help="only the images, not the compose chain"
    )
    args = parser.parse_args(argv)
    if "DOCKER_HOST" not in os.environ or shutil.which("docker") is None:
        print("container-test: needs DOCKER_HOST (run it through scripts/container_test.sh)")
        return 2
    sys.path.insert(0, str(REPO_ROOT))
    reports = Path(os.environ.get("CHURN_REPORTS_DIR", REPO_ROOT / "reports"))
    isolate(args.workdir)
    report = args.report or reports / "containers" / "smoke.json"
    out = Outcome()
    try:
        smoke(args.workdir, args.base_image, out, skip_chain=args.no_chain)
    except Exception as exc:  # reported as a failed check; the traceback helps whoever debugs it
        if not any(name.endswith("completed") for name, _, _ in out.checks):
            out.check("smoke run completed", False, f"{type(exc).__name__}: {exc}")
    save_report(out, report)
    passed = len(out.checks) - out.failed
    print(f"container-test: figures in {report}")
    print(f"container-test: {passed} passed, {out.failed} failed")
    return 0 if out.failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
