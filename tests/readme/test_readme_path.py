"""The README's own path, as written: a fresh clone, a fresh HOME, no `CHURN_*` variable set.

`make run` first (the set-up), then the "Using it" commands in the README's order: `make serve`,
the README's curl to `/model_info` with the token from `.env`, a `/predict`, `churn model status`,
`churn predict`, `make load-test`, `churn monitor`, `make ui` (which brings the service up itself:
`make serve` is stopped first) up to the sign-in page and the dashboard's health, and
`zenml pipeline run ... -c configs/training.yaml` from the activated venv. Only ports are chosen
(`PORT`, `FLASK_PORT`, `STREAMLIT_PORT`); every other setting is the README's default, so the
project database is the clone's `data/predictions.db`.

The clone is of the committed HEAD; it downloads its packages into its own HOME as a new user's
would. It runs in the background beside the suite (tests/fixtures/background.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import requests
import yaml

from churn.data import load_clean
from churn.generator import generate
from churn.schema import FEATURE_NAMES
from tests.fixtures import background
from tests.fixtures.http import wait_for_http
from tests.fixtures.ports import free_port

REPO = Path(__file__).resolve().parents[2]
TEST_VENV_BIN = Path(sys.executable).parent
SCENARIO = "readme-path"

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3000)]

# The README's "Using it" lines this scenario runs, as they are written there.
README_COMMANDS = [
    "source .venv/bin/activate",
    "zenml pipeline run pipelines.training.training_pipeline -c configs/training.yaml",
    "churn model status",
    "churn predict customers.csv --out scored.csv",
    "make serve",
    'curl -s 127.0.0.1:3000/model_info -H "Authorization: Bearer $CHURN_API_TOKEN"',
    "make ui",
    "make load-test",
    "churn monitor",
]


def using_it_block() -> list[str]:
    """The commands of the README's "Using it" block, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Using it\s+```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no 'Using it' bash block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


@dataclass
class Clone:
    root: Path
    env: dict[str, str]
    outputs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    def run(self, name: str, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        proc = background.run(argv, cwd=self.root, env=self.env, timeout=timeout)
        self.outputs[name] = proc
        assert proc.returncode == 0, f"{name}: {report(proc)}"
        return proc

    def shell(self, name: str, script: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return self.run(name, ["bash", "-c", script], timeout)

    def start(self, name: str, argv: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.root.parent / f"{name}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                argv, cwd=self.root, env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.servers.append(proc)
        return proc, log

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Ctrl-C to the process group (make ui's trap stops what it started), then SIGKILL."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.servers:
            self.stop(proc)

    def token(self) -> str:
        for line in (self.root / ".env").read_text().splitlines():
            name, _, value = line.partition("=")
            if name == "CHURN_API_TOKEN":
                return value.strip()
        raise AssertionError(".env has no CHURN_API_TOKEN after make run")


def report(proc: subprocess.CompletedProcess[str]) -> str:
    out, err = proc.stdout[-4000:], proc.stderr[-4000:]
    return f"exit {proc.returncode}\n--- stdout\n{out}\n--- stderr\n{err}"


# What `make test` passes down to the suite: its own state, and the variables the checkout's make
# files export (mk/ui.mk's UI_RUN_DIR named the checkout's reports/, so the clone's `make ui` wrote
# there). A user's shell has none of them.
OUTER_MAKE = {
    "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR",
    "UI_RUN_DIR", "FLASK_PORT", "STREAMLIT_PORT", "PYTHONUNBUFFERED",
}  # fmt: skip


def user_environment(home: Path) -> dict[str, str]:
    """This process's environment as a new user's shell has it: no project or tool state."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHURN_", "ZENML_", "BENTOML_", "MLFLOW_", "UV_", "XDG_", "PYTEST"))
        and k not in {"VIRTUAL_ENV", "PYTHONPATH", "PROMETHEUS_MULTIPROC_DIR", "PORT"}
        and k not in OUTER_MAKE
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != TEST_VENV_BIN]
    env.update(HOME=str(home), PATH=os.pathsep.join(path))
    return env


@background.scenario(SCENARIO, last=True)
def _readme(tmp: Path) -> Callable[[], Clone]:
    home = tmp / "home"
    home.mkdir()
    clone = Clone(root=tmp / "clone", env=user_environment(home))
    customers = generate(20, seed=11)[list(FEATURE_NAMES)]
    records = json.loads(customers.to_json(orient="records"))

    def work() -> Clone:
        background.on_stop(SCENARIO, clone.stop_all)
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone.root)], check=True)
        clone.run("make run", ["make", "run"], 1500)

        port = free_port()
        clone.env["PORT"] = str(port)
        base = f"http://127.0.0.1:{port}"
        serve, serve_log = clone.start("make-serve", ["make", "serve"])
        wait_for_http(f"{base}/readyz", 300, process=serve, log=serve_log, interval_s=1.0)
        clone.facts["serve_log"] = serve_log.read_text(errors="replace")
        info = clone.shell(
            "curl model_info",
            "set -a; . ./.env; set +a; curl -s -f "
            f'127.0.0.1:{port}/model_info -H "Authorization: Bearer $CHURN_API_TOKEN"',
            60,
        )
        clone.facts["model_info"] = json.loads(info.stdout)
        auth = {"Authorization": f"Bearer {clone.token()}"}
        answers = [
            requests.post(f"{base}/predict", json={"customer": r}, headers=auth, timeout=30)
            for r in records
        ]
        clone.facts["predict_statuses"] = [a.status_code for a in answers]
        clone.facts["predict_first"] = answers[0].json()
        readme_lines = (clone.root / "README.md").read_text().splitlines()
        by_id = next(
            line for line in readme_lines if line.startswith("curl") and "customerID" in line
        )
        clone.facts["by_id_curl"] = by_id
        answer = clone.shell(
            "curl by ID", "set -a; . ./.env; set +a; " + by_id.replace(":3000/", f":{port}/"), 60
        )
        clone.facts["by_id"] = json.loads(answer.stdout)
        wanted = re.search(r'"customerID": "([^"]+)"', by_id)
        data = load_clean(clone.root / "data" / "raw" / "telco_churn.csv")
        row = data[data["customerID"] == (wanted.group(1) if wanted else "")].drop(columns="Churn")
        full = json.loads(row.to_json(orient="records"))[0]
        clone.facts["by_id_full"] = requests.post(
            f"{base}/predict", json={"customer": full}, headers=auth, timeout=30
        ).json()

        venv_bin = clone.root / ".venv" / "bin"
        churn = str(venv_bin / "churn")
        status = clone.run("churn model status", [churn, "model", "status"], 300)
        clone.facts["model_status"] = json.loads(status.stdout)
        clone.run(
            "churn generate",
            [churn, "generate", "--rows", "300", "--seed", "7", "--out", "customers.csv"],
            120,
        )
        clone.run("churn predict", [churn, "predict", "customers.csv", "--out", "scored.csv"], 300)
        clone.facts["scored"] = pd.read_csv(clone.root / "scored.csv")
        clone.facts["load_test"] = clone.run("make load-test", ["make", "load-test"], 300).stdout
        monitor = clone.run("churn monitor", [churn, "monitor"], 600)
        clone.facts["monitor"] = json.loads(monitor.stdout.strip().splitlines()[-1])
        clone.stop(serve)

        flask_port, streamlit_port = free_port(), free_port()
        clone.env.update(FLASK_PORT=str(flask_port), STREAMLIT_PORT=str(streamlit_port))
        ui, ui_log = clone.start("make-ui", ["make", "ui"])
        wait_for_http(f"{base}/readyz", 300, process=ui, log=ui_log, interval_s=1.0)
        signin = wait_for_http(
            f"http://127.0.0.1:{flask_port}/login", 180, process=ui, log=ui_log, interval_s=1.0
        )
        clone.facts["signin_page"] = signin.text
        wait_for_http(
            f"http://127.0.0.1:{streamlit_port}/_stcore/health",
            180,
            process=ui,
            log=ui_log,
            interval_s=1.0,
        )
        clone.facts["ui_log"] = ui_log.read_text(errors="replace")
        clone.stop(ui)

        activated = {
            **clone.env,
            "VIRTUAL_ENV": str(clone.root / ".venv"),
            "PATH": f"{venv_bin}{os.pathsep}{clone.env['PATH']}",
        }
        proc = background.run(
            ["zenml", "pipeline", "run", "pipelines.training.training_pipeline",
             "-c", "configs/training.yaml"],
            cwd=clone.root, env=activated, timeout=1200,
        )  # fmt: skip
        clone.outputs["zenml pipeline run"] = proc
        assert proc.returncode == 0, f"zenml pipeline run: {report(proc)}"
        after = clone.run("churn model status (after)", [churn, "model", "status"], 300)
        clone.facts["model_status_after"] = json.loads(after.stdout)
        return clone

    return work


def load_stats(csv_path: Path) -> dict[str, dict[str, float]]:
    """The SLO checker's own reading of Locust's stats file (load_tests/check_slo.py)."""
    sys.path.insert(0, str(REPO / "load_tests"))
    try:
        from check_slo import read_stats
    finally:
        sys.path.remove(str(REPO / "load_tests"))
    return read_stats(csv_path)


@pytest.fixture(scope="module")
def readme() -> Clone:
    try:
        return background.result(SCENARIO, timeout_s=2700)
    finally:
        background.stop_now(SCENARIO)


def test_the_scenario_runs_the_readme_commands_as_written() -> None:
    block = using_it_block()
    missing = [command for command in README_COMMANDS if command not in block]
    assert not missing, f"the README's 'Using it' block no longer has: {missing}"


def test_make_serve_answers_with_the_env_token(readme: Clone) -> None:
    assert "project database: sqlite:///" in str(readme.facts["serve_log"])
    assert str(readme.root / "data" / "predictions.db") in str(readme.facts["serve_log"])
    info = readme.facts["model_info"]
    assert isinstance(info, dict) and info["model_name"] == "telco_churn"
    assert info["model_version"] == "1"
    assert readme.facts["predict_statuses"] == [200] * 20
    first = readme.facts["predict_first"]
    assert isinstance(first, dict) and 0.0 <= first["churn_probability"] <= 1.0


def test_the_readmes_by_id_curl_answers_as_the_full_record(readme: Clone) -> None:
    """The feature store (#33): `make run` ingested the default customers, and the README's curl
    scores one by ID with the same probability as its whole record posted."""
    by_id, full = readme.facts["by_id"], readme.facts["by_id_full"]
    assert isinstance(by_id, dict) and isinstance(full, dict), (by_id, full)
    assert "features_as_of" in by_id, by_id
    assert abs(by_id["churn_probability"] - full["churn_probability"]) <= 1e-9


def test_the_cli_sees_the_same_production_model(readme: Clone) -> None:
    status = readme.facts["model_status"]
    assert isinstance(status, dict)
    assert str(status["production"]["version"]) == "1", status
    scored = readme.facts["scored"]
    assert isinstance(scored, pd.DataFrame) and len(scored) == 300
    assert scored["churn_probability"].between(0, 1).all()


def test_load_test_and_monitor_read_the_served_traffic(readme: Clone) -> None:
    reports = readme.root / "reports"
    assert "SLO: met" in str(readme.facts["load_test"])  # load_tests/slo.yaml, as shipped
    stats = load_stats(reports / "load_test_stats.csv")
    for key in ("POST /predict", "POST /predict_batch", "GET /model_info"):
        assert stats[key]["requests"] > 0, key
    assert stats["Aggregated"]["requests"] > 100 and stats["Aggregated"]["failures"] == 0
    assert (reports / "load_test.html").stat().st_size > 0
    monitor = readme.facts["monitor"]
    assert isinstance(monitor, dict)
    # the 20 /predict calls and the load test went to the clone's data/predictions.db
    assert monitor["n_rows"] > 100, monitor
    assert "drift_detected" in monitor


def test_make_ui_brings_up_the_service_and_both_frontends(readme: Clone) -> None:
    log = str(readme.facts["ui_log"])
    assert "starting the churn service (make serve)" in log
    assert "first sign-in: user 'admin'" in log
    assert 'name="password"' in str(readme.facts["signin_page"])


def test_zenml_pipeline_run_from_the_activated_venv(readme: Clone) -> None:
    after = readme.facts["model_status_after"]
    assert isinstance(after, dict)
    versions = {str(v["version"]) for v in after["versions"]}
    assert "2" in versions, after


def test_slo_check_fails_when_a_threshold_is_below_the_measurement(
    readme: Clone, tmp_path: Path
) -> None:
    """load_tests/check_slo.py on the README run's own figures: the shipped thresholds pass,
    a p95 ceiling at half the measured p95 is a breach that names the threshold."""
    stats_csv = readme.root / "reports" / "load_test_stats.csv"
    measured = load_stats(stats_csv)["Aggregated"]
    slo = yaml.safe_load((REPO / "load_tests" / "slo.yaml").read_text())
    slo["aggregate"]["max_p95_ms"] = measured["p95"] / 2
    tight = tmp_path / "tight.yaml"
    tight.write_text(yaml.safe_dump(slo))
    check = [sys.executable, str(REPO / "load_tests" / "check_slo.py"), str(stats_csv)]
    shipped = subprocess.run([*check, str(REPO / "load_tests" / "slo.yaml")],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    broken = subprocess.run([*check, str(tight)], capture_output=True, text=True, timeout=60)
    assert shipped.returncode == 0, shipped.stdout
    assert broken.returncode == 1, broken.stdout
    assert "SLO BREACH: Aggregated: p95 ms" in broken.stdout and "max_p95_ms" in broken.stdout
    assert "SLO: broken" in broken.stdout
