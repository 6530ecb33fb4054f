"""The compose chain of `make container-test`: the stack `make compose-up` starts, run for real.

Called by tests/containers/container_smoke.py once the smoke images are built. It copies the
working tree as a fresh clone would have it (tracked and new files, nothing git ignores; the
project's .venv linked, the customers `make run` would have made in data/raw), then runs the
command README.md writes, `make compose-up`, in that copy, with no variable of its own: the
engine's DOCKER_HOST and the stores `make run` fills (BentoML, ZenML) are what a user has. So the
stack under test is the one a user gets: docker-compose.yml's own ports, configurations, secrets
(deploy/compose_secrets.py), certificates, first admin, feature store, every service (MLflow too;
Grafana when its image can be had, else compose-up must say so). Then, each step bounded:

  every service healthy (MLflow used, and under its memory limit with no restart)
  predictions over HTTP -> exactly N rows in the compose PostgreSQL (timestamps in UTC)
  -> the monitoring job (`--profile monitor run monitor`) reads them, finds the drift the fed
     records carry and pushes its gauges -> Prometheus scrapes the Pushgateway
  -> ChurnDriftDetected fires -> Alertmanager -> the webhook receiver (alertmanager.yml's own
     127.0.0.1:9095, the on-call relay's address, served by this process);
  a customer scored by ID through the edge (Redis online store, fed by compose-up's ingest and
  materialize), the same probability as its full record;
  least privilege, live (tests/containers/privilege_chain.py), and through the TLS edge
  (tests/containers/edge_chain.py): the first admin compose-up made signs in in Chromium over
  HTTPS, changes the generated password (its file on the host is then gone), scores a customer
  and signs out.

The monitoring job needs a production model: one is registered first in the run's own ZenML
store, and the job's container mounts that store at the same path. The stack is stopped with
`make compose-down VOLUMES=1` (the README's command) on every exit path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.containers.edge_chain import check_edge
from tests.containers.privilege_chain import check_privilege
from tests.fixtures.alert_chain import Receiver, credentials

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
SINGLE_PREDICTIONS = 20
DRIFTED_RECORDS = 400
BATCH = 100
CUSTOMERS = 2000  # data/raw/telco_churn.csv of the copy: what `make run` would have left there
ROWS_TIMEOUT_S = 60.0
MONITOR_TIMEOUT_S = 600.0
# the shipped timings: 15 s scrape and evaluation, 30 s group_wait
ALERT_TIMEOUT_S = 240.0
COMPOSE_UP_TIMEOUT_S = 2700.0
# docker-compose.yml's own ports (every container on the host network, 127.0.0.1), and the
# on-call relay alertmanager.yml notifies: all must be free for `make compose-up` as written
PORTS = {
    "postgres": 5432, "redis": 6379, "service": 3000, "flask": 5001, "dashboard": 8501,
    "mlflow": 5000, "prometheus": 9090, "pushgateway": 9091, "alertmanager": 9093,
    "grafana": 3001, "http": 8080, "https": 8443, "edge_health": 8442, "webhook": 9095,
}  # fmt: skip
MLFLOW_METRICS = 200


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


def readme_command() -> str:
    """The line README.md gives for the stack, as written (its comment dropped)."""
    for line in README.read_text().splitlines():
        if line.startswith("make compose-up"):
            return line.split("#", 1)[0].strip()
    raise ChainError("README.md has no `make compose-up` line")


def taken_ports() -> list[str]:
    taken = []
    for name, port in PORTS.items():
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(f"{name} {port}")
    return taken


def copy_checkout(dest: Path, customers: Any) -> None:
    """The working tree as a fresh clone plus `make run` has it: every tracked or new file that
    git does not ignore (mtimes kept, so make finds .venv current), the .venv linked, the
    default customers in data/raw."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT, capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, listed):
        src = REPO_ROOT / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree, not yet in git
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")
    from churn.generator import to_csv_text

    raw = dest / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "telco_churn.csv").write_text(to_csv_text(customers))


def user_env() -> dict[str, str]:
    """This process' environment without the smoke test's own CHURN_* settings (its SQLite
    log, its reports folder...): a user's shell after `make run` has none of them. The engine
    (DOCKER_HOST) and the stores `make run` filled (BENTOML_HOME...) stay."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CHURN_")}


class Chain:
    """The `churn` compose project `make compose-up` started in `checkout`."""

    def __init__(self, root: Path, checkout: Path) -> None:
        self.root = root
        self.checkout = checkout
        self.ports = dict(PORTS)
        self.certs = checkout / "deploy" / "edge" / "certs"
        self.secrets = checkout / "deploy" / "local" / "secrets"
        self.monitoring_secrets = checkout / "monitoring" / "secrets"
        self.first_admin_file = checkout / "deploy" / "local" / "first-admin" / "first-admin.txt"
        self.receiver = Receiver(PORTS["webhook"])
        self.token: str | None = None
        self.db_url = ""
        self.auth: dict[str, tuple[str, str]] = {}
        self.compose_up_log = ""

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def edge_url(self) -> str:
        return f"https://localhost:{self.ports['https']}"

    def make(self, command: str, log: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
        """`command` run in the copy by bash, as a user types it; stdout+stderr to `log`."""
        proc = subprocess.run(
            ["bash", "-c", command], cwd=self.checkout, env=user_env(),
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
        log.write_text(proc.stdout + proc.stderr)
        return proc

    def compose_up(self, logs: Path) -> float:
        command = readme_command()
        start = time.monotonic()
        proc = self.make(command, logs / "compose-up.log", COMPOSE_UP_TIMEOUT_S)
        self.compose_up_log = proc.stdout + proc.stderr
        if proc.returncode != 0:
            tail = "\n".join(self.compose_up_log.splitlines()[-40:])
            raise ChainError(f"`{command}` failed ({proc.returncode}):\n{tail}")
        self.db_url = (self.secrets / "host" / "CHURN_PREDICTION_DB").read_text()
        self.auth = credentials(self.monitoring_secrets)
        return round(time.monotonic() - start, 1)

    def compose_command(self) -> list[str]:
        """Makefile's COMPOSE (`-p churn`) on the copy; the monitor profile for its one-shot run."""
        return [
            "docker-compose", "-p", "churn", "--profile", "monitor",
            "--project-directory", str(self.checkout),
            "-f", str(self.checkout / "docker-compose.yml"),
        ]  # fmt: skip

    def compose(self, *args: str, timeout_s: float = 600.0, log: Path | None = None) -> str:
        cmd = [*self.compose_command(), *args]
        proc = subprocess.run(
            cmd, env=user_env(), capture_output=True, text=True, timeout=timeout_s,
            check=False,
        )  # fmt: skip
        if log is not None:
            log.write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            raise ChainError(
                f"docker-compose {' '.join(args[:3])} failed ({proc.returncode}):\n{tail}"
            )
        return proc.stdout

    def services(self) -> dict[str, dict[str, Any]]:
        return dict(yaml.safe_load((self.checkout / "docker-compose.yml").read_text())["services"])

    def inspect(self, service: str) -> dict[str, Any] | None:
        cid = self.compose("ps", "-q", service, timeout_s=60).strip()
        if not cid:
            return None
        out = subprocess.run(
            ["docker", "inspect", cid], capture_output=True, text=True, timeout=60, check=True
        )
        found: dict[str, Any] = json.loads(out.stdout)[0]
        return found

    def health(self, service: str) -> str:
        info = self.inspect(service)
        if info is None:
            return "absent"
        state = info["State"]
        if state["Status"] == "exited":
            return f"exited-{state['ExitCode']}"
        return state.get("Health", {}).get("Status", state["Status"])

    def memory(self, service: str) -> tuple[int, int]:
        """(bytes in use, limit) of the service's container, from the engine's cgroup figures."""
        info = self.inspect(service)
        if info is None:
            raise ChainError(f"{service} is not running")
        proc = subprocess.run(
            ["docker", "stats", "--no-stream", "--format", "{{json .}}", info["Id"]],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        used = json.loads(proc.stdout.splitlines()[0])["MemUsage"].split("/")[0].strip()
        return parse_size(used), int(info["HostConfig"]["Memory"])

    def create_token(self) -> str:
        """An admin token in the compose PostgreSQL, made from the host with the project's CLI
        (`churn auth token create`), as an operator would; the service reads it from there."""
        proc = subprocess.run(
            [sys.executable, "-m", "churn.cli", "auth", "token", "create",
             f"compose-chain-{time.time_ns()}",
             "--scope", "admin", "--actor", "container-test"],
            env={**os.environ, "CHURN_PREDICTION_DB": self.db_url},
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not proc.stdout.strip():
            raise ChainError(f"churn auth token create failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout.strip().splitlines()[-1]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

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

    def down(self, logs: Path) -> None:
        """`make compose-down VOLUMES=1`, as docs/containers.md writes it."""
        try:
            proc = self.make("make compose-down VOLUMES=1", logs / "compose-down.log", 300)
            if proc.returncode != 0:
                print(f"compose-chain: make compose-down failed: {proc.stderr[-500:]}")
                self.compose("down", "--volumes", "--remove-orphans", timeout_s=180)
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


UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2,
         "GB": 1000**3}  # fmt: skip


def parse_size(text: str) -> int:
    """`docker stats`' "312.4MiB" in bytes."""
    match = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]+)", text)
    if match is None or match.group(2) not in UNITS:
        raise ChainError(f"cannot read a memory figure from {text!r}")
    return int(float(match.group(1)) * UNITS[match.group(2)])


def check_services(chain: Chain, out: Any) -> None:
    """Every service of docker-compose.yml: healthy, the one-shot migrate exited 0, the monitor
    profile's job left for its run below, the events profile's consumer left out (it needs a
    managed Kafka, which compose-up does not start); Grafana healthy, or compose-up said plainly
    why not."""
    states = {}
    for name, service in chain.services().items():
        if {"monitor", "events"} & set(service.get("profiles", [])):
            continue
        states[name] = chain.health(name)
    grafana = states.pop("grafana", "absent")
    expected = {n: ("exited-0" if n == "migrate" else "healthy") for n in states}
    out.check(
        f"`{readme_command()}` as README.md writes it: all {len(states)} services up "
        "(migrate exited 0, every other healthy)",
        states == expected,
        ", ".join(f"{k} {v}" for k, v in sorted(states.items())),
    )
    said = "Grafana NOT started" in chain.compose_up_log
    out.check(
        "Grafana healthy, or compose-up says plainly that its image cannot be had here",
        grafana == "healthy" or (grafana == "absent" and said),
        f"grafana {grafana}; compose-up said so: {said}",
    )


def use_mlflow(chain: Chain) -> str:
    """Some tracking traffic: an experiment, a run and MLFLOW_METRICS metric points."""
    import requests

    api = f"{chain.url('mlflow')}/api/2.0/mlflow"
    experiment = requests.post(
        f"{api}/experiments/create", json={"name": f"compose-chain-{time.time_ns()}"}, timeout=30
    ).json()["experiment_id"]
    run = requests.post(
        f"{api}/runs/create", json={"experiment_id": experiment}, timeout=30
    ).json()["run"]["info"]["run_id"]
    for step in range(0, MLFLOW_METRICS, 50):
        metrics = [
            {"key": "loss", "value": 1.0 / (i + 1), "timestamp": int(time.time() * 1000), "step": i}
            for i in range(step, step + 50)
        ]
        requests.post(
            f"{api}/runs/log-batch", json={"run_id": run, "metrics": metrics}, timeout=30
        ).raise_for_status()
    got = requests.get(
        f"{api}/metrics/get-history", params={"run_id": run, "metric_key": "loss"}, timeout=30
    ).json()
    return f"{len(got.get('metrics', []))} points"


def check_mlflow(chain: Chain, out: Any, when: str) -> None:
    info = chain.inspect("mlflow") or {}
    used, limit = chain.memory("mlflow")
    restarts = info.get("RestartCount")
    oom = info.get("State", {}).get("OOMKilled")
    out.check(
        f"MLflow {when}: no restart, not OOM-killed, under its memory limit",
        restarts == 0 and oom is False and 0 < used < limit,
        f"{used / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB, {restarts} restarts, OOM {oom}",
    )


def check_by_id(chain: Chain, out: Any, customers: Any) -> None:
    """A customer the compose-up ingest put in Redis, scored by ID through the edge: 200, the
    same probability as its full record (1e-9) and the attributes' time."""
    import requests

    from churn.schema import FEATURE_NAMES

    ca = str(chain.certs / "ca.crt")
    api = f"{chain.edge_url()}/api"
    chosen = customers[customers["tenure"] > 0].iloc[[0]]  # a full bill, nothing blank in the CSV
    row = chosen.iloc[0]
    by_id = requests.post(
        f"{api}/predict", json={"customerID": row["customerID"]}, headers=chain.headers(),
        verify=ca, timeout=30,
    )  # fmt: skip
    record = json.loads(chosen[list(FEATURE_NAMES)].to_json(orient="records"))[0]
    full = requests.post(
        f"{api}/predict", json={"customer": record}, headers=chain.headers(), verify=ca,
        timeout=30,
    )  # fmt: skip
    ok = by_id.status_code == 200 and full.status_code == 200
    a = by_id.json().get("churn_probability") if ok else None
    b = full.json().get("churn_probability") if ok else None
    out.check(
        "a customer scored by ID through the edge (Redis online store) answers 200 with "
        "features_as_of, the same probability as its full record (1e-9)",
        ok
        and a is not None
        and b is not None
        and abs(a - b) <= 1e-9
        and bool(by_id.json().get("features_as_of")),
        f"HTTP {by_id.status_code}/{full.status_code}: {a} vs {b}; {by_id.text[:200]}",
    )


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
    """The whole chain; each result is an `out.check(...)`; raises on a step that cannot go on.
    `images` (the smoke images) are not used: `make compose-up` builds its own, as for a user."""
    import requests

    from churn.generator import generate
    from churn.schema import FEATURE_NAMES

    del images
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    taken = taken_ports()
    if taken:
        raise ChainError(
            "docker-compose.yml's ports are taken on 127.0.0.1 (make compose-up needs them): "
            + ", ".join(taken)
        )
    with out.timed("compose chain: register a production model"):
        production = register_production_model(workdir)
    chain_dir = workdir / "chain"
    chain_dir.mkdir(parents=True, exist_ok=True)
    customers = generate(CUSTOMERS, seed=7)
    with out.timed("compose chain: a copy of the working tree, as a fresh clone after make run"):
        copy_checkout(workdir / "checkout", customers)
    chain = Chain(chain_dir, workdir / "checkout")
    n_rows = SINGLE_PREDICTIONS + DRIFTED_RECORDS
    config = monitor_config(chain_dir, n_rows)
    share_stores(workdir)
    ok = False
    try:
        # an interrupted earlier run leaves the project's named volumes in the cached engine: a
        # fresh clone finds none
        with contextlib.suppress(ChainError):  # nothing to remove is the usual case
            chain.compose("down", "--volumes", "--remove-orphans", timeout_s=300)
        with out.timed(f"compose chain: `{readme_command()}` in the copy"):
            seconds = chain.compose_up(logs)
        out.timings["make compose-up"] = seconds
        check_services(chain, out)
        with out.timed("compose chain: MLflow in use"):
            detail = use_mlflow(chain)
        out.check("MLflow answers the tracking API (experiment, run, metric history)", True, detail)
        check_mlflow(chain, out, "after compose-up and some tracking traffic")
        base = chain.url("service")
        if use_auth:
            chain.token = chain.create_token()
            # each worker reloads the token digests every CHURN_AUTH_REFRESH_S (5 s)
            wait_until(
                lambda: (
                    requests.get(
                        f"{base}/model_info", headers=chain.headers(), timeout=10
                    ).status_code
                    == 200
                ),
                "the new admin token accepted by the service",
                60,
            )
        records = json.loads(
            frame[list(FEATURE_NAMES)].head(SINGLE_PREDICTIONS).to_json(orient="records")
        )
        moved = generate(DRIFTED_RECORDS, seed=41, drift="contract_shift")[list(FEATURE_NAMES)]
        moved_records = json.loads(moved.to_json(orient="records"))
        # the rows compose-up's own steps logged (none expected), so the count below is exact
        already = chain.row_count()
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
                wait_until(
                    lambda: chain.row_count() - already >= n_rows, f"{n_rows} rows", ROWS_TIMEOUT_S
                )
            time.sleep(2)  # anything beyond N would be a duplicate still in flight
            count = chain.row_count() - already
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

        with out.timed("compose chain: the monitoring job (--profile monitor run monitor)"):
            summary_path = chain_dir / "monitor-summary.json"
            # the run's ZenML and MLflow stores (where the production model is), as an operator
            # points the job at the team's servers (ZENML_STORE_URL...)
            chain.compose(
                "run", "--rm", "--no-deps",
                "-e", f"ZENML_CONFIG_PATH={os.environ['ZENML_CONFIG_PATH']}",
                "-e", f"ZENML_REPOSITORY_PATH={os.environ['ZENML_REPOSITORY_PATH']}",
                "-e", f"CHURN_MLFLOW_TRACKING_URI={os.environ['CHURN_MLFLOW_TRACKING_URI']}",
                "-e", "ZENML_ANALYTICS_OPT_IN=false",
                "-v", f"{workdir}:{workdir}",
                "monitor", "monitor", "--config", str(config), "--summary-out", str(summary_path),
                timeout_s=MONITOR_TIMEOUT_S,
                log=logs / "monitor-run.log",
            )  # fmt: skip
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
            "ChurnDriftDetected reached the webhook (alertmanager.yml's 127.0.0.1:9095)",
            bool(alerts),
            f"{len(alerts)} alert(s)",
        )
        # last: these add rows to the prediction log counted above
        with out.timed("compose chain: by ID through the edge"):
            check_by_id(chain, out, customers)
        with out.timed("compose chain: least privilege, live"):
            check_privilege(chain, out)
        with out.timed("compose chain: through the TLS edge, in a browser"):
            check_edge(chain, out, chain_dir, logs)
        check_mlflow(chain, out, "at the end of the chain")
        ok = True
    finally:
        if not ok or out.failed:
            chain.dump_logs(logs)
        with out.timed("compose chain: make compose-down VOLUMES=1"):
            chain.down(logs)


if __name__ == "__main__":  # pragma: no cover - only through container_smoke.py
    sys.exit("run through tests/containers/container_smoke.py (make container-test)")
