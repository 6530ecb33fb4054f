"""The compose chain of `make container-test`: the docker-compose.yml stack, run for real.

Called by tests/containers/container_smoke.py once the service, Flask and dashboard images are
built. It brings up the repository's docker-compose.yml (PostgreSQL, Prometheus, Pushgateway,
Alertmanager, the service, Flask, Streamlit, the nginx edge; their images built from the local
base) under a throw-away project name, with a generated override that moves ports to free ones
(and gives the edge a `make certs` certificate and the UIs the compose database), points
Prometheus and Alertmanager at test configurations (1 s scrape/evaluation, 1 s grouping, the
webhook at a receiver in this process) and names the smoke images. Then, each step bounded:

  predictions over HTTP -> exactly N rows in the compose PostgreSQL (timestamps in UTC)
  -> the monitoring job (churn-monitor image, `churn monitor`) reads them, finds the drift the
     fed records carry and pushes its gauges -> Prometheus scrapes the Pushgateway
  -> ChurnDriftDetected fires -> Alertmanager -> the webhook receiver;
  then through the TLS edge (tests/containers/edge_chain.py): the first admin made as `make
  compose-up` makes it signs in in Chromium over HTTPS, scores a customer and signs out.

The monitoring job needs a production model: one is registered here first, in the run's own
ZenML store, and the job's container mounts that store at the same path. The
stack is torn down (`down --volumes`) on every exit path.

Least privilege, live (tests/containers/privilege_chain.py): every secret is a file of its
reader's (deploy/compose_secrets.py, `churn monitoring-auth --owner`), the schema is migrated by
the one-shot `migrate` service, each part connects as its own role; the checks that the database
refuses the superuser and password-less logins over TCP and the UI role's token insert, that the
edge serves no /api/metrics and adds its headers, and that no container's environment holds a
secret run once the stack is up.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from churn.monitoring.web_auth import write_secrets
from tests.containers.edge_chain import check_edge
from tests.containers.privilege_chain import check_privilege
from tests.fixtures.alert_chain import Receiver, credentials
from tests.fixtures.http import wait_for_http
from tests.fixtures.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
MONITORING = REPO_ROOT / "monitoring"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SINGLE_PREDICTIONS = 20
DRIFTED_RECORDS = 400
BATCH = 100
ROWS_TIMEOUT_S = 60.0
MONITOR_TIMEOUT_S = 600.0
ALERT_TIMEOUT_S = 120.0
UP_TIMEOUT_S = 300.0
# the services brought up, in dependency order (mlflow and grafana are not part of the chain);
# the one-shot `migrate` runs between PostgreSQL and the rest
STAGES = (
    ("postgres",),
    ("pushgateway", "prometheus", "alertmanager"),
    ("churn-service",),
    ("flask", "dashboard"),
    ("edge",),
)


class ChainError(RuntimeError):
    """A step of the chain did not happen within its bound."""


def wait_until(check: Callable[[], Any], what: str, timeout_s: float, every_s: float = 1.0) -> Any:
    """`check()`'s first truthy value, or ChainError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except Exception as exc:  # not up yet: keep polling
            value, last = None, exc
        else:
            last = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise ChainError(f"{what} not within {timeout_s:.0f} s (last error: {last!r})")
        time.sleep(every_s)


class Chain:
    """One compose project on free loopback ports, its configuration under `root`."""

    def __init__(self, root: Path, images: dict[str, str], token: str | None) -> None:
        self.root = root
        self.images = images
        self.token = token
        self.project = f"churnct{secrets.token_hex(3)}"
        self.ports = {
            name: free_port()
            for name in ("postgres", "service", "flask", "dashboard", "prometheus", "pushgateway")
        }
        self.ports["alertmanager"] = free_port()
        self.ports.update({name: free_port() for name in ("http", "https", "edge_health")})
        self.certs = root / "certs"
        self.secrets = root / "secrets"  # deploy/compose_secrets.py's folder for this run
        self.receiver = Receiver()
        self.db_url = ""  # the owner role's URL, once write_secrets made its password
        # given to deploy/compose_secrets.py only: the containers get them as files
        self.secret_env = {
            "FLASK_SECRET_KEY": secrets.token_hex(16),
            "CHURN_CUSTOMER_ID_KEY": secrets.token_hex(32),
        }
        self.env = {
            **os.environ,
            "CHURN_BASE_IMAGE": images["base"],
            "CHURN_SERVICE_IMAGE": images["service"],
            "DOCKER_BUILDKIT": "0",
            "COMPOSE_DOCKER_CLI_BUILD": "0",
        }

    # ------------------------------------------------------------------------- configuration

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def write_configs(self) -> Path:
        """Test copies of the repository's Prometheus/Alertmanager configs and the override."""
        cfg = self.root / "config"
        cfg.mkdir(parents=True, exist_ok=True)
        am = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())
        am["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
        for receiver in am["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = self.receiver.url
        (cfg / "alertmanager.yml").write_text(yaml.safe_dump(am))

        prom = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
        prom["global"].update(scrape_interval="1s", evaluation_interval="1s")
        for name in prom["rule_files"]:
            shutil.copy(MONITORING / name, cfg / name)
        prom["alerting"]["alertmanagers"][0]["static_configs"] = [
            {"targets": [f"127.0.0.1:{self.ports['alertmanager']}"]}
        ]
        targets = {
            "churn-service": "service",
            "churn-flask": "flask",
            "churn-monitoring": "pushgateway",
            "alertmanager": "alertmanager",
            "prometheus": "prometheus",
        }
        for job in prom["scrape_configs"]:
            job["static_configs"][0]["targets"] = [
                f"127.0.0.1:{self.ports[targets[job['job_name']]]}"
            ]
        (cfg / "prometheus.yml").write_text(yaml.safe_dump(prom))

        obs = {"volumes": [f"{cfg}:/etc/churn-chain:ro"]}
        locked = {"volumes": [f"{cfg / 'secrets'}:/etc/churn-monitoring:ro"]}
        p = self.ports
        shipped = yaml.safe_load(COMPOSE_FILE.read_text())["secrets"]
        override: dict[str, Any] = {
            # the same secrets, from this run's folder
            "secrets": {
                name: {
                    "file": str(self.secrets / s["file"].removeprefix("./deploy/local/secrets/"))
                }
                for name, s in shipped.items()
            },
            "services": {
                "postgres": {
                    "build": {"network": "host"},
                    "environment": {"PGPORT": str(p["postgres"])},
                    "healthcheck": {
                        "test": [
                            "CMD",
                            "pg_isready",
                            "-h",
                            "127.0.0.1",
                            "-p",
                            str(p["postgres"]),
                            "-U",
                            "churn",
                            "-d",
                            "churn",
                        ],
                        "interval": "2s",
                    },
                },
                "churn-service": {
                    "environment": {"BENTOML_PORT": str(p["service"]), **self._auth_env()},
                    "healthcheck": {"interval": "3s", "start_period": "120s"},
                },
                "flask": {
                    "image": self.images["flask"],
                    "environment": {
                        "FLASK_PORT": str(p["flask"]),
                        "CHURN_SERVICE_URL": self.url("service"),
                        "CHURN_UI_WORKERS": "1",
                    },
                    "healthcheck": {"interval": "3s"},
                },
                "dashboard": {
                    "image": self.images["dashboard"],
                    "environment": {
                        "STREAMLIT_PORT": str(p["dashboard"]),
                        "CHURN_SERVICE_URL": self.url("service"),
                    },
                    "healthcheck": {"interval": "3s"},
                },
                "monitor": {"build": {"network": "host"}},
                "edge": {
                    "build": {"network": "host"},
                    "environment": {
                        "CHURN_HTTP_PORT": str(p["http"]),
                        "CHURN_HTTPS_PORT": str(p["https"]),
                        "CHURN_EDGE_HEALTH_PORT": str(p["edge_health"]),
                        "CHURN_EDGE_SERVICE": f"127.0.0.1:{p['service']}",
                        "CHURN_EDGE_FLASK": f"127.0.0.1:{p['flask']}",
                        "CHURN_EDGE_DASHBOARD": f"127.0.0.1:{p['dashboard']}",
                    },
                    "volumes": [f"{self.certs}:/etc/churn-edge/certs:ro"],
                    "healthcheck": {"interval": "2s"},
                },
                "prometheus": {
                    "volumes": [
                        *obs["volumes"],
                        f"{cfg / 'secrets'}:/etc/prometheus/secrets:ro",
                    ],
                    "build": {"network": "host"},
                    "command": [
                        "prometheus",
                        "--config.file=/etc/churn-chain/prometheus.yml",
                        "--storage.tsdb.path=/var/lib/churn-observability",
                        f"--web.listen-address=127.0.0.1:{p['prometheus']}",
                        "--web.config.file=/etc/prometheus/secrets/prometheus.web.yml",
                    ],
                    "environment": {"OBS_PORT": str(p["prometheus"])},
                    "healthcheck": {"interval": "2s"},
                },
                "pushgateway": {
                    **locked,
                    "build": {"network": "host"},
                    "command": [
                        "prometheus-pushgateway",
                        f"--web.listen-address=127.0.0.1:{p['pushgateway']}",
                        "--web.config.file=/etc/churn-monitoring/pushgateway.web.yml",
                    ],
                    "environment": {"OBS_PORT": str(p["pushgateway"])},
                    "healthcheck": {"interval": "2s"},
                },
                "alertmanager": {
                    "volumes": [*obs["volumes"], *locked["volumes"]],
                    "build": {"network": "host"},
                    "command": [
                        "prometheus-alertmanager",
                        "--config.file=/etc/churn-chain/alertmanager.yml",
                        "--storage.path=/var/lib/churn-observability",
                        f"--web.listen-address=127.0.0.1:{p['alertmanager']}",
                        "--cluster.listen-address=",
                        "--web.config.file=/etc/churn-monitoring/alertmanager.web.yml",
                    ],
                    "environment": {"OBS_PORT": str(p["alertmanager"])},
                    "healthcheck": {"interval": "2s"},
                },
            },
        }
        path = self.root / "docker-compose.chain.yml"
        path.write_text(yaml.safe_dump(override, sort_keys=False))
        return path

    def owner_of(self, image: str) -> str:
        """uid:gid of `image`'s user: the one its secret files belong to."""
        proc = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
             'echo "$(id -u):$(id -g)"'],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise ChainError(f"cannot ask {image} for its user: {proc.stderr[-500:]}")
        return proc.stdout.strip()

    def write_secrets(self) -> None:
        """As `make compose-up` writes them: the monitoring servers' (0400, the observability
        image's user) and every container's own (deploy/compose_secrets.py), this run's port."""
        monitoring = self.root / "config" / "secrets"
        obs = self.owner_of("churn-observability:latest")
        uid, gid = (int(n) for n in obs.split(":"))
        write_secrets(monitoring, {}, rounds=4, owner=(uid, gid))
        self.auth = credentials(monitoring)
        app = self.owner_of(self.images["flask"])
        owners = {
            "postgres": self.owner_of("churn-postgres:latest"),
            "churn-service": self.owner_of(self.images["service"]),
            **dict.fromkeys(("flask", "dashboard", "monitor", "migrate"), app),
        }
        proc = subprocess.run(
            [sys.executable, str(REPO_ROOT / "deploy/compose_secrets.py"), str(self.secrets),
             "--monitoring", str(monitoring), "--db-host", f"127.0.0.1:{self.ports['postgres']}",
             *(a for r, o in owners.items() for a in ("--owner", f"{r}={o}"))],
            env={**os.environ, **self.secret_env, "CHURN_API_TOKEN": self.token or ""},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise ChainError(f"compose_secrets.py failed: {proc.stderr[-1000:]}")
        self.db_url = (self.secrets / "host" / "CHURN_PREDICTION_DB").read_text()

    def make_certs(self) -> None:
        """`make certs`' script into the run's folder; the edge reads the key through its group."""
        subprocess.run(
            ["bash", str(REPO_ROOT / "deploy/edge/make_certs.sh"), str(self.certs), "localhost"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.env["CHURN_EDGE_CERT_GID"] = str((self.certs / "server.key").stat().st_gid)

    def edge_url(self) -> str:
        return f"https://localhost:{self.ports['https']}"

    def first_admin(self, path: Path) -> tuple[str, str]:
        """deploy/compose_first_admin.sh against this project, as `make compose-up` runs it."""
        compose = " ".join(self.compose_command())
        proc = subprocess.run(
            ["bash", str(REPO_ROOT / "deploy/compose_first_admin.sh"), str(path)],
            env={**self.env, "COMPOSE": compose}, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not path.exists():
            raise ChainError(f"first admin not created ({proc.returncode}): {proc.stderr[-2000:]}")
        name, password = path.read_text().split()
        return name, password

    def _auth_env(self) -> dict[str, str]:
        return {"CHURN_AUTH": "on"} if self.token else {"CHURN_AUTH": "off"}

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    # ------------------------------------------------------------------------------- compose

    def compose_command(self) -> list[str]:
        return [
            "docker-compose",
            "-p",
            self.project,
            "--profile",
            "monitor",
            "--project-directory",
            str(REPO_ROOT),
            "-f",
            str(COMPOSE_FILE),
            "-f",
            str(self.root / "docker-compose.chain.yml"),
        ]

    def compose(self, *args: str, timeout_s: float = 600.0, log: Path | None = None) -> str:
        cmd = [*self.compose_command(), *args]
        proc = subprocess.run(
            cmd, env=self.env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if log is not None:
            log.write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            raise ChainError(
                f"docker-compose {' '.join(args[:3])} failed ({proc.returncode}):\n{tail}"
            )
        return proc.stdout

    def health(self, service: str) -> str:
        cid = self.compose("ps", "-q", service, timeout_s=60).strip()
        if not cid:
            return "absent"
        out = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Status}}/{{.State.Health.Status}}", cid],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return out.stdout.strip()

    def create_token(self) -> str:
        """An admin token in the compose PostgreSQL, made from the host with the project's CLI
        (`churn auth token create`), as an operator would; the service reads it from there."""
        proc = subprocess.run(
            [sys.executable, "-m", "churn.cli", "auth", "token", "create", "compose-chain",
             "--scope", "admin", "--actor", "container-test"],
            env={**os.environ, "CHURN_PREDICTION_DB": self.db_url},
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not proc.stdout.strip():
            raise ChainError(f"churn auth token create failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout.strip().splitlines()[-1]

    def up(self, after_postgres: Callable[[], None] = lambda: None) -> dict[str, float]:
        """Each stage up (no dependencies pulled in) and healthy before the next one; the schema
        migrated by the one-shot `migrate` service once PostgreSQL is."""
        seconds = {}
        for stage in STAGES:
            if stage == STAGES[1]:
                start = time.monotonic()
                self.compose("run", "--rm", "--no-deps", "migrate", timeout_s=300)
                seconds["migrate"] = round(time.monotonic() - start, 1)
                after_postgres()
            start = time.monotonic()
            self.compose("up", "-d", "--no-deps", "--no-build", *stage, timeout_s=300)
            for service in stage:
                state = wait_until(
                    lambda s=service: (
                        (h := self.health(s)).endswith(("healthy", "unhealthy")) and h
                    ),
                    f"{service} healthy",
                    UP_TIMEOUT_S,
                    every_s=2.0,
                )
                if not state.endswith("/healthy"):
                    raise ChainError(f"{service} is {state}")
            seconds["+".join(stage)] = round(time.monotonic() - start, 1)
        return seconds

    def dump_logs(self, logs: Path) -> None:
        try:
            self.compose("logs", "--no-color", timeout_s=120, log=logs / "compose-chain.log")
        except Exception as exc:  # teardown must go on
            print(f"compose-chain: could not collect logs: {exc}")
        text = (
            (logs / "compose-chain.log").read_text(errors="replace")
            if (logs / "compose-chain.log").exists()
            else ""
        )
        print("--- last lines of the compose stack's logs ---")
        print("\n".join(text.splitlines()[-60:]))

    def down(self) -> None:
        try:
            self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout_s=180)
        except Exception as exc:
            print(f"compose-chain: down failed: {exc}")
        self.receiver.close()

    # -------------------------------------------------------------------------------- checks

    def row_count(self) -> int:
        import sqlalchemy as sa

        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return int(
                    conn.execute(sa.text("SELECT count(*) FROM prediction_log")).scalar_one()
                )
        finally:
            engine.dispose()

    def newest_created_at(self) -> Any:
        import sqlalchemy as sa

        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return conn.execute(
                    sa.text("SELECT max(created_at) FROM prediction_log")
                ).scalar_one()
        finally:
            engine.dispose()

    def prometheus_value(self, query: str) -> float | None:
        import requests

        got = requests.get(
            f"{self.url('prometheus')}/api/v1/query",
            params={"query": query},
            auth=self.auth["prometheus"],
            timeout=10,
        )
        result = got.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None


MODEL_NAME = "telco_churn_compose_chain"


def register_production_model(workdir: Path) -> str:
    """A promoted model version with `reference_data` and `churn_model` in this run's ZenML store
    (the monitoring tests' stand-in for the training pipeline, which costs minutes)."""
    (workdir / "repo" / ".zen").mkdir(parents=True, exist_ok=True)
    os.environ["ZENML_REPOSITORY_PATH"] = str(workdir / "repo")
    os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    from tests.monitoring.production_stub import register_production_model as register

    return register(MODEL_NAME)


def share_stores(workdir: Path) -> None:
    """The monitoring container (uid 10001) reads and writes the run's ZenML/MLflow stores."""
    os.chmod(workdir.parent, os.stat(workdir.parent).st_mode | 0o011)
    os.chmod(workdir, os.stat(workdir).st_mode | 0o077)
    for name in ("zenml", "repo", "mlruns.db", "chain"):
        path = workdir / name
        if not path.exists():
            continue
        subprocess.run(["chmod", "-R", "a+rwX", str(path)], check=True, timeout=60)


def monitor_config(chain_dir: Path, rows: int) -> Path:
    config = yaml.safe_load((REPO_ROOT / "configs" / "monitoring.yaml").read_text())
    config["parameters"]["config"].update(
        model_name=MODEL_NAME, window_rows=rows, min_rows=min(100, rows), reference_max_rows=2000
    )
    path = chain_dir / "monitoring.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_chain(workdir: Path, images: dict[str, str], out: Any, frame: Any, use_auth: bool) -> None:
    """The whole chain; each result is an `out.check(...)`; raises on a step that cannot go on."""
    import requests

    from churn.generator import generate
    from churn.schema import FEATURE_NAMES

    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with out.timed("compose chain: register a production model"):
        production = register_production_model(workdir)
    chain_dir = workdir / "chain"
    chain = Chain(chain_dir, images, None)
    chain.write_configs()
    n_rows = SINGLE_PREDICTIONS + DRIFTED_RECORDS
    config = monitor_config(chain_dir, n_rows)
    share_stores(workdir)
    chain.make_certs()  # after share_stores: the key keeps its mode 640
    ok = False
    try:
        with out.timed("compose chain: build postgres, observability, monitor from the local base"):
            chain.compose(
                "build",
                "postgres",
                "prometheus",
                "monitor",
                "edge",
                timeout_s=1500,
                log=logs / "compose-build.log",
            )

        chain.write_secrets()  # the images exist now: each file goes to its reader's user

        def with_token() -> None:
            if use_auth:
                chain.token = chain.create_token()
                chain.write_configs()
                chain.write_secrets()  # the frontends' CHURN_API_TOKEN file; ports unchanged

        with out.timed("compose chain: up, stage by stage, until healthy"):
            out.timings.update({f"up {k}": v for k, v in chain.up(with_token).items()})
        out.check("compose stack healthy (8 services with the TLS edge)", True, chain.project)

        base = chain.url("service")
        wait_for_http(f"{base}/readyz", 120, interval_s=1.0)
        records = json.loads(
            frame[list(FEATURE_NAMES)].head(SINGLE_PREDICTIONS).to_json(orient="records")
        )
        moved = generate(DRIFTED_RECORDS, seed=41, drift="contract_shift")[list(FEATURE_NAMES)]
        moved_records = json.loads(moved.to_json(orient="records"))
        before = time.time()
        statuses = [
            requests.post(
                f"{base}/predict", json={"customer": r}, headers=chain.headers(), timeout=30
            ).status_code
            for r in records
        ]
        for i in range(0, len(moved_records), BATCH):
            got = requests.post(
                f"{base}/predict_batch",
                json={"customers": moved_records[i : i + BATCH]},
                headers=chain.headers(),
                timeout=60,
            )
            statuses.append(got.status_code)
        if use_auth:
            anonymous = requests.post(f"{base}/predict", json={"customer": records[0]}, timeout=30)
            out.check(
                "the compose service refuses a prediction without a token (401)",
                anonymous.status_code == 401,
                f"HTTP {anonymous.status_code}",
            )
        out.check(
            "predictions over HTTP all answered 200",
            set(statuses) == {200},
            f"{len(statuses)} requests, statuses {sorted(set(statuses))}",
        )
        with out.timed("compose chain: rows reach PostgreSQL"):
            with contextlib.suppress(ChainError):  # the exact count below says what arrived
                wait_until(lambda: chain.row_count() >= n_rows, f"{n_rows} rows", ROWS_TIMEOUT_S)
            time.sleep(2)  # anything beyond N would be a duplicate still in flight
            count = chain.row_count()
        out.check(
            f"{n_rows} predictions in, exactly {n_rows} rows in the compose PostgreSQL",
            count == n_rows,
            f"{count} rows",
        )
        newest = chain.newest_created_at()
        skew = abs(newest.timestamp() - time.time()) if newest is not None else None
        out.check(
            "created_at read back from PostgreSQL is an aware UTC instant of this run",
            newest is not None
            and newest.tzinfo is not None
            and skew is not None
            and skew < 300
            and newest.timestamp() >= before - 60,
            f"{newest!r}, {skew} s from now",
        )

        with out.timed("compose chain: the monitoring job (churn-monitor image)"):
            summary_path = chain_dir / "monitor-summary.json"
            chain.compose(
                "run",
                "--rm",
                "--no-deps",
                "-e",
                f"CHURN_PUSHGATEWAY_URL={chain.url('pushgateway')}",
                "-e",
                f"ZENML_CONFIG_PATH={os.environ['ZENML_CONFIG_PATH']}",
                "-e",
                f"ZENML_REPOSITORY_PATH={os.environ['ZENML_REPOSITORY_PATH']}",
                "-e",
                f"CHURN_MLFLOW_TRACKING_URI={os.environ['CHURN_MLFLOW_TRACKING_URI']}",
                "-e",
                "ZENML_ANALYTICS_OPT_IN=false",
                "-v",
                f"{workdir}:{workdir}",
                "monitor",
                "monitor",
                "--config",
                str(config),
                "--summary-out",
                str(summary_path),
                timeout_s=MONITOR_TIMEOUT_S,
                log=logs / "monitor-run.log",
            )
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        out.check(
            "the monitoring job read the N rows of the production model's window",
            summary.get("n_rows") == n_rows and summary.get("production_version") == production,
            f"n_rows {summary.get('n_rows')}, production {summary.get('production_version')}",
        )
        out.check(
            "the monitoring job found the drift it was fed",
            summary.get("drift_detected") is True,
            f"share {summary.get('drift_share')}, {summary.get('drifted_features')}",
        )

        with out.timed("compose chain: Prometheus scrapes the pushed gauge"):
            value = wait_until(
                lambda: chain.prometheus_value("max(churn_drift_detected)") == 1.0,
                "churn_drift_detected == 1 in Prometheus",
                ALERT_TIMEOUT_S,
            )
        out.check("Prometheus holds churn_drift_detected = 1 from the Pushgateway", bool(value))
        with out.timed("compose chain: the drift alert reaches the webhook"):
            alerts = wait_until(
                lambda: chain.receiver.alerts("ChurnDriftDetected", "firing"),
                "ChurnDriftDetected at the webhook",
                ALERT_TIMEOUT_S,
            )
        out.check(
            "ChurnDriftDetected reached the webhook through Alertmanager",
            bool(alerts),
            f"{len(alerts)} alert(s)",
        )
        # last: the browser's scoring adds a row to the prediction log counted above
        with out.timed("compose chain: least privilege, live"):
            check_privilege(chain, out)
        with out.timed("compose chain: through the TLS edge, in a browser"):
            check_edge(chain, out, chain_dir, logs)
        ok = True
    finally:
        if not ok or out.failed:
            chain.dump_logs(logs)
        with out.timed("compose chain: down --volumes"):
            chain.down()


if __name__ == "__main__":  # pragma: no cover - only through container_smoke.py
    sys.exit("run through tests/containers/container_smoke.py (make container-test)")
