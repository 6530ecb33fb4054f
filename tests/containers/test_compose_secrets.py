"""Least privilege in the compose stack, checked offline: docker-compose.yml and the files
deploy/compose_secrets.py writes for it (the engine-side checks run in `make container-test`).

- no secret is an environment variable of any service (`docker inspect` would show it);
- every secret a service mounts is a file compose_secrets.py writes for that reader, 0400, and the
  folder 0500: the reader's own, nobody else's;
- each part connects as its own database role; only the service gets the customer key;
- the schema is migrated once, by the `migrate` service, before any part starts;
- MLflow runs without MLflow 3's job runner, the thing that OOM-looped it;
- `make compose-up` passes no Pushgateway variable to the host-side Bento build.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "compose_secrets.py"
SECRET_WORDS = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY|PREDICTION_DB", re.IGNORECASE)
ALLOWED_VARIABLES = {
    # passed through from the operator's shell for an external ZenML server; unset in the stack
    ("monitor", "ZENML_STORE_API_KEY"),
}

pytestmark = pytest.mark.timeout(120)


def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_no_service_gets_a_secret_as_an_environment_variable() -> None:
    for name, service in compose()["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if variable.endswith("__FILE") or variable in (
                "CHURN_SECRETS_DIR",
                "CHURN_DB_PASSWORDS_DIR",
            ):
                continue
            if SECRET_WORDS.search(variable) and (name, variable) not in ALLOWED_VARIABLES:
                pytest.fail(f"{name}: {variable}={value!r} is a secret in the environment")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("compose")
    monitoring = root / "monitoring"
    monitoring.mkdir()
    (monitoring / "pushgateway.password").write_text("push-pw\n")
    (monitoring / "grafana.password").write_text("graf-pw")
    (monitoring / "prometheus.password").write_text("prom-pw")
    me = f"{os.getuid()}:{os.getgid()}"
    (root / "oidc-secret").write_text("client-secret\n")
    env = {**os.environ, "FLASK_SECRET_KEY": "flask-k", "CHURN_CUSTOMER_ID_KEY": "id-k",
           "CHURN_API_TOKEN": "tok",
           "CHURN_OIDC_CLIENT_SECRET_FILE": str(root / "oidc-secret")}  # fmt: skip
    run = [sys.executable, str(SCRIPT), str(root / "secrets"), "--monitoring", str(monitoring),
           "--owner", f"flask={me}", "--owner", f"postgres={me}"]  # fmt: skip
    for _ in range(2):  # a second run keeps the role passwords
        proc = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
    yield root / "secrets"
    for folder in (root / "secrets").iterdir():  # pytest's clean-up, when not root
        folder.chmod(0o700)


def read(path: Path) -> str:
    return path.read_text()


def test_each_mounted_secret_is_a_file_written_for_its_reader(written: Path) -> None:
    spec = compose()
    for name, service in spec["services"].items():
        for entry in service.get("secrets", []):
            source = spec["secrets"][entry["source"]]["file"]
            path = written.parent / source.removeprefix("./deploy/local/")
            assert path.is_file(), f"{name}: {source} is not written by compose_secrets.py"
            assert path.stat().st_mode & 0o777 == 0o400, f"{name}: {source} is not 0400"
            assert path.parent.stat().st_mode & 0o777 == 0o500, path.parent
            if entry["target"].startswith("CHURN_") or entry["target"] == "FLASK_SECRET_KEY":
                assert service["environment"]["CHURN_SECRETS_DIR"] == "/run/secrets", name


def test_each_part_connects_as_its_own_role_and_only_the_service_keys_ids(
    written: Path,
) -> None:
    roles = {
        reader: re.match(r"postgresql://(\w+):", read(written / reader / "CHURN_PREDICTION_DB"))
        for reader in ("migrate", "churn-service", "flask", "dashboard", "monitor")
    }
    assert {reader: m.group(1) for reader, m in roles.items() if m} == {
        "migrate": "churn", "churn-service": "churn_service", "flask": "churn_ui",
        "dashboard": "churn_ui", "monitor": "churn_monitor",
    }  # fmt: skip
    keyed = {p.parent.name for p in written.glob("*/CHURN_CUSTOMER_ID_KEY")}
    assert keyed == {"churn-service"}
    assert read(written / "churn-service" / "CHURN_CUSTOMER_ID_KEY") == "id-k"
    assert {p.parent.name for p in written.glob("*/FLASK_SECRET_KEY")} == {"flask"}
    assert read(written / "monitor" / "CHURN_PUSHGATEWAY_PASSWORD") == "push-pw"
    passwords = dict(line.split("=", 1) for line in read(written / "roles.env").splitlines())
    assert read(written / "postgres" / "churn_ui") == passwords["churn_ui"]
    # four roles of the churn database, the feature database's owner, Redis
    assert len(set(passwords.values())) == 6 and min(map(len, passwords.values())) >= 32
    assert (written / "roles.env").stat().st_mode & 0o777 == 0o600


def test_a_reader_that_cannot_be_handed_its_files_is_one_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        owner = "flask=abc:1"  # root may chown to anyone: check the usage error instead
        expected = "--owner READER=UID:GID"
    else:
        owner = "flask=0:0"
        expected = "run as root"
    env = {**os.environ, "FLASK_SECRET_KEY": "k", "CHURN_CUSTOMER_ID_KEY": "k"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "s"), "--owner", owner],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert expected in proc.stderr and "Traceback" not in proc.stderr


def test_the_schema_is_migrated_once_before_every_part() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["db", "migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("churn-service", "monitor"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        ), name


def test_postgres_gets_a_password_file_per_role_and_retention_is_on() -> None:
    services = compose()["services"]
    targets = {s["target"] for s in services["postgres"]["secrets"]}
    assert targets == {"churn", "churn_service", "churn_ui", "churn_monitor", "churn_features"}
    assert services["postgres"]["environment"]["CHURN_DB_PASSWORDS_DIR"] == "/run/secrets"
    assert services["postgres"]["environment"]["CHURN_FEATURE_DB"] == "churn_features"
    assert services["monitor"]["environment"]["CHURN_RETENTION_DAYS"].startswith(
        "${CHURN_RETENTION_DAYS:-"
    )


def test_mlflow_runs_without_the_job_runner_that_oom_looped_it() -> None:
    mlflow = compose()["services"]["mlflow"]
    assert mlflow["environment"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    dockerfile = (REPO / "docker" / "mlflow.Dockerfile").read_text()
    assert "--workers 1" in dockerfile


def test_compose_up_passes_no_secret_variable_to_the_host_build() -> None:
    """The recipe as the README types it: `make compose-up`. It once exported the Pushgateway
    password without its user, and the host-side Bento build's settings refused the pair."""
    recipe = (REPO / "mk" / "containers.mk").read_text().split("compose-up: venv")[1]
    recipe = recipe.split("\n\n")[0]
    assert not re.search(r"(PASSWORD|TOKEN|SECRET_KEY|_KEY)=", recipe), recipe
    script = (REPO / "deploy" / "compose_up.sh").read_text()
    assert "set -a" not in script.split("# ---- secrets made once")[1].split("bash docker")[0]


FEATURE_FILES = {
    "CHURN_FEATURE_ONLINE_STORE",
    "CHURN_FEATURE_OFFLINE_STORE",
    "CHURN_FEATURE_REGISTRY",
}


def test_the_feature_store_is_redis_and_its_own_database_known_to_the_service_only(
    written: Path,
) -> None:
    """#33: the service reads customers by ID from the compose Redis; Redis knows only a hash of
    its password; the feature database's URL reaches the service (registry) and the host's
    ingest, no other part."""
    passwords = dict(line.split("=", 1) for line in read(written / "roles.env").splitlines())
    online = read(written / "churn-service" / "CHURN_FEATURE_ONLINE_STORE")
    assert online == f"redis://:{passwords['redis']}@127.0.0.1:6379/0"
    registry = read(written / "churn-service" / "CHURN_FEATURE_REGISTRY")
    assert registry.startswith(f"postgresql://churn_features:{passwords['churn_features']}@")
    assert registry.endswith("/churn_features?sslmode=disable")
    assert not (written / "churn-service" / "CHURN_FEATURE_OFFLINE_STORE").exists()
    assert {p.name for p in (written / "host").iterdir()} >= FEATURE_FILES
    holders = {p.parent.name for name in FEATURE_FILES for p in written.glob(f"*/{name}")}
    assert holders == {"churn-service", "host"}
    acl = read(written / "redis" / "users.acl")
    digest = hashlib.sha256(passwords["redis"].encode()).hexdigest()
    assert acl == f"user default on #{digest} ~* &* +@all -@dangerous\n"
    assert passwords["redis"] not in acl
    assert read(written / "postgres" / "churn_features") == passwords["churn_features"]
    service = compose()["services"]["churn-service"]
    targets = {s["target"] for s in service["secrets"]}
    assert {"CHURN_FEATURE_ONLINE_STORE", "CHURN_FEATURE_REGISTRY"} <= targets
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    redis = compose()["services"]["redis"]
    assert redis["network_mode"] == "host" and redis["image"] == "churn-redis:latest"
    dockerfile = (REPO / "docker" / "redis.Dockerfile").read_text()
    assert redis["environment"]["HOST"] == "127.0.0.1"
    assert '--bind \\"$HOST\\"' in dockerfile and "--aclfile /run/secrets/users.acl" in dockerfile
    assert "--requirepass" not in dockerfile


def test_company_sign_in_is_settings_only_and_its_secret_a_file_of_the_two_uis(
    written: Path,
) -> None:
    """#34: CHURN_OIDC_* pass from compose-up's shell to Flask and the dashboard (none set: local
    accounts); the client secret is read from CHURN_OIDC_CLIENT_SECRET_FILE into the UIs' own
    secret files; the dashboard writes st.login's section from the same settings at start."""
    services = compose()["services"]
    for name in ("flask", "dashboard"):
        env = services[name]["environment"]
        assert env["CHURN_SIGN_IN"] == "${CHURN_SIGN_IN:-local}", name
        for variable in ("CHURN_OIDC_ISSUER", "CHURN_OIDC_CLIENT_ID", "CHURN_OIDC_ROLES_CLAIM",
                         "CHURN_OIDC_ROLE_MAP"):  # fmt: skip
            assert variable in env and env[variable] is None, (name, variable)
        targets = {s["target"] for s in services[name]["secrets"]}
        assert "CHURN_OIDC_CLIENT_SECRET" in targets, name
    holders = {p.parent.name for p in written.glob("*/CHURN_OIDC_CLIENT_SECRET")}
    assert holders == {"flask", "dashboard"}
    assert read(written / "flask" / "CHURN_OIDC_CLIENT_SECRET") == "client-secret"
    assert services["dashboard"]["environment"]["CHURN_DASHBOARD_URL"].endswith("/dashboard")
    dockerfile = (REPO / "docker" / "streamlit.Dockerfile").read_text()
    assert "-m frontends.streamlit_app.auth_secrets" in dockerfile
    assert '--secrets.files \\"$DASHBOARD_AUTH_FILE\\"' in dockerfile


def test_the_first_admin_file_is_flasks_to_delete() -> None:
    """#34: Flask writes the first admin's password into the host's deploy/local/first-admin/
    and Flask or the dashboard deletes it when that password is changed; compose-up gives the
    folder to their user."""
    for name in ("flask", "dashboard"):  # either UI may take the forced change, and deletes it
        ui = compose()["services"][name]
        path = ui["environment"]["CHURN_UI_FIRST_ADMIN_FILE"]
        mount = next(v for v in ui["volumes"] if v.startswith("./deploy/local/first-admin:"))
        assert path.startswith(mount.split(":")[1] + "/"), name
    script = (REPO / "deploy" / "compose_up.sh").read_text()
    assert 'chown "$app" "$LOCAL/first-admin"' in script
