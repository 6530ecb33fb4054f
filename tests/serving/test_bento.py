"""The Bento builds from the tracked files, and its Dockerfile installs the locked requirements."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import bentoml
import pytest

from tests.fixtures.launcher import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "bentos" / "requirements.txt"
EXPORT = ["export", "--frozen", "--no-default-groups", "--no-hashes", "--no-emit-project"]


def pins(text: str) -> set[str]:
    """`name==version` lines, markers normalised (uv and BentoML quote them differently)."""
    out = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req, _, marker = line.partition(";")
        out.add(req.strip().lower() + (";" + re.sub(r"[\s'\"]", "", marker) if marker else ""))
    return out


def test_requirements_file_is_the_locks_pins_cut_to_the_service() -> None:
    """bentos/requirements.txt: lock pins only, for what the service needs, not the platform."""
    uv = shutil.which("uv")
    assert uv is not None, "uv is a project dependency: it must be on the venv's PATH"
    fresh = subprocess.run([uv, *EXPORT], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    locked = pins(fresh.stdout)
    committed = pins(REQUIREMENTS.read_text())
    assert committed <= locked, f"not the lock's pins: {sorted(committed - locked)[:5]}"
    names = {p.split("==")[0] for p in committed}
    wanted = [
        line.split("#")[0].strip().lower()
        for line in (REPO_ROOT / "bentos" / "requirements.in").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert set(wanted) <= names, f"requirements.in names missing: {set(wanted) - names}"
    assert any(p.startswith("bentoml==1.4.") for p in committed)
    assert any(p.startswith("scikit-learn==1.9.") for p in committed)
    # The platform (pipelines, tracking, UIs) and the dev/stacks groups stay out of the image.
    for heavy in ("zenml", "mlflow", "evidently", "streamlit", "dvc", "ruff", "s3fs"):
        assert heavy not in names, f"{heavy} is in the service's requirements"


def test_service_imports_with_only_its_requirements(tmp_path: Path) -> None:
    """A venv with just bentos/requirements.txt imports the service and the pickled pipeline's
    transformers; what the Bento's image installs is all the service needs."""
    uv = shutil.which("uv")
    assert uv is not None
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", "3.11", str(venv)], check=True, timeout=120)
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    install = subprocess.run(
        [uv, "pip", "install", "-q", "-r", str(REQUIREMENTS)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    code = "import bentos.service, bentos.scorer, churn.training.engineered; print('ok')"
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        cwd=REPO_ROOT, env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bento_builds_from_a_clean_checkout(served_model: bentoml.Model, tmp_path: Path) -> None:
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    checkout = tmp_path / "checkout"
    for rel in filter(None, tracked):
        if (REPO_ROOT / rel).is_file():
            (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / rel, checkout / rel)
    cli = Path(sys.executable).with_name("bentoml")
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True"}
    build = subprocess.run(
        [str(cli), "build", "--output", "tag"], cwd=checkout, env=env,
        capture_output=True, text=True, timeout=500,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    tag = build.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    bento = bentoml.get(tag)
    assert bento.tag.name == "churn_service"
    assert str(served_model.tag) in {str(m.tag) for s in bento.info.services for m in s.models}
    root = Path(bento.path)

    dockerfile = (root / "env" / "docker" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    assert "uv venv --python 3.11" in dockerfile
    assert "pip install -r $BENTO_PATH/env/python/requirements.txt" in dockerfile
    assert 'ENTRYPOINT [ "/home/bentoml/bento/env/docker/entrypoint.sh" ]' in dockerfile
    assert (root / "env" / "docker" / "entrypoint.sh").exists()
    bundled = (root / "env" / "python" / "requirements.txt").read_text()
    assert pins(bundled) == pins(REQUIREMENTS.read_text())
    assert (root / "src" / "bentos" / "service.py").exists()
    assert (root / "src" / "churn" / "schema.py").exists()
    # the pipeline-trained model unpickles churn.training transformers inside the Bento
    assert (root / "src" / "churn" / "training" / "engineered.py").exists()
