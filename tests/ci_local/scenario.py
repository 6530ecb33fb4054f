"""The CI/CD scenario behind `make ci-local` and tests/ci_local/test_ci_scenario.py.

Fresh staging servers (`make staging-up` in a folder of its own), a ZenML service account whose
API key is the workflow's ZENML_STORE_API_KEY, a git repository holding the working tree (what is
"pushed"), a SQLite project database standing for the deployment's, and then four workflow runs:
1. push: nothing in production yet -> train, promote version 1, build, deploy to staging;
2. a code-only push with live traffic like the training data -> no drift, no training, the same
   model built and deployed again;
3. live traffic and training data drifted (`contract_shift`) -> retrain, compared with version 1
   by the paired bootstrap, the decision recorded;
4. workflow_dispatch force_retrain on a tenth of the data -> a worse candidate, not promoted:
   production and the deployed model stay.
Each job's JSON line is printed as it ends; `make ci-local` exits non-zero when a job fails.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
Run = Callable[..., subprocess.CompletedProcess[str]]
QUALITY = "the suite's own run covers it (make lint typecheck security-lint test)"
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: ci-local, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: ci, user: {token: ci-local}}]
contexts: [{name: ci-local, context: {cluster: ci-local, user: ci}}]
current-context: ci-local
"""
RUNS: tuple[tuple[str, str, dict[str, str], dict[str, Any], str | None], ...] = (
    ("1-first-model", "push", {}, {}, None),
    (
        "2-code-only",
        "push",
        {},
        {"docs/environments.md": "\n<!-- a code-only change -->\n"},
        "none",
    ),
    (
        "3-drift",
        "push",
        {},
        {"params.yaml": ("drift: none", "drift: contract_shift")},
        "contract_shift",
    ),
    (
        "4-worse",
        "workflow_dispatch",
        {"force_retrain": "true"},
        {"params.yaml": ("rows: 7043", "rows: 700")},
        None,
    ),
)


def _subprocess(
    argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@dataclass
class Scenario:
    root: Path
    mlflow_port: int = 5050
    zenml_port: int = 8237
    run: Run = _subprocess
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deployed: dict[str, dict[str, Any]] = field(default_factory=dict)  # run -> staging namespace
    logs: dict[str, str] = field(default_factory=dict)
    outer: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """The environment now (a test's changes to os.environ later must not leak in)."""
        self.outer = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CHURN_", "ZENML_", "MLFLOW_", "BENTOML_"))
        }

    @property
    def env(self) -> dict[str, str]:
        env = self.outer
        # the checkout's `.zen/config.yaml` (its active stack) is the user's: a marker of our own
        (self.root / "repo" / ".zen").mkdir(parents=True, exist_ok=True)
        return {
            **env,
            "ZENML_CONFIG_PATH": str(self.root / "zenml-config"),
            "ZENML_REPOSITORY_PATH": str(self.root / "repo"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_AUTO_OPEN_DASHBOARD": "false",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }

    @property
    def staging_dir(self) -> Path:
        return self.root / "staging"

    @property
    def make_args(self) -> list[str]:
        return [
            f"STAGING_DIR={self.staging_dir}",
            f"STAGING_MLFLOW_PORT={self.mlflow_port}",
            f"STAGING_ZENML_PORT={self.zenml_port}",
        ]

    @property
    def database(self) -> str:
        return f"sqlite:///{self.root / 'project.db'}"

    def _check(self, name: str, proc: subprocess.CompletedProcess[str]) -> str:
        self.logs[name] = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise RuntimeError(
                f"{name} failed (exit {proc.returncode}):\n{self.logs[name][-4000:]}"
            )
        return proc.stdout

    def up(self) -> None:
        make = ["make", "--no-print-directory", "-C", str(REPO)]
        self._check(
            "staging-up",
            self.run([*make, "staging-up", *self.make_args], cwd=REPO, env=self.env, timeout=600),
        )

    def down(self) -> subprocess.CompletedProcess[str]:
        make = ["make", "--no-print-directory", "-C", str(REPO)]
        return self.run(
            [*make, "staging-down", *self.make_args], cwd=REPO, env=self.env, timeout=180
        )

    def api_key(self) -> str:
        code = (
            "from zenml.client import Client\nc = Client()\n"
            "sa = c.create_service_account(name='github-actions')\n"
            "print('KEY=' + c.create_api_key(sa.id, name='ci').key)\n"
        )
        out = self._check(
            "api-key",
            self.run([sys.executable, "-c", code], cwd=self.root, env=self.env, timeout=180),
        )
        return [ln for ln in out.splitlines() if ln.startswith("KEY=")][-1].removeprefix("KEY=")

    def source(self) -> Path:
        """A repository holding the working tree's tracked files: the commit CI is given."""
        source = self.root / "source"
        files = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
        for name in filter(None, files.split("\0")):
            if (REPO / name).is_file():
                (source / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, source / name, follow_symlinks=False)
        git = _git(source)
        subprocess.run(["git", "init", "-q", "-b", "develop", str(source)], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "the working tree"], check=True)
        return source

    def commit(self, source: Path, edits: dict[str, Any], message: str) -> str:
        git = _git(source)
        for name, edit in edits.items():
            path = source / name
            text = path.read_text()
            if isinstance(edit, tuple):
                if edit[0] not in text:
                    raise RuntimeError(f"{name} has no {edit[0]!r} to change")
                path.write_text(text.replace(edit[0], edit[1]))
            else:
                path.write_text(text + edit)
        if edits:
            subprocess.run([*git, "commit", "-q", "-am", message], check=True)
        return subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()

    def traffic(self, drift: str, seed: int, rows: int = 800) -> None:
        """What the deployed service would have logged: customers scored by an older model
        version, which the drift check re-scores with the production model."""
        from churn.generator import generate
        from tests.fixtures.postgres import migrated
        from tests.monitoring.helpers import write_log

        migrated(self.database)  # the deployment's migration job
        write_log(self.database, generate(rows, seed=seed, drift=drift), model_version="0")

    def workflow(
        self,
        name: str,
        source: Path,
        sha: str,
        event: str,
        inputs: dict[str, str],
        secrets: dict[str, str],
    ) -> list[dict[str, Any]]:
        argv = [
            sys.executable,
            "-m",
            "tests.ci_local.runner",
            "--source",
            str(source),
            "--sha",
            sha,
            "--event",
            event,
            "--ref",
            "refs/heads/develop",
            "--run-id",
            f"10{len(self.outputs) + 1}",
            "--workdir",
            str(self.root / "runs" / name),
            "--cluster",
            str(self.root / "cluster"),
            "--assume",
            f"quality={QUALITY}",
            "--runner-env",
            f"CHURN_STAGING_DIR={self.root / 'staging'}",
            "--runner-env",
            "TRAIN_CONFIG=configs/training_fast.yaml",
            *(a for k, v in secrets.items() for a in ("--secret", f"{k}={v}")),
            *(a for k, v in inputs.items() for a in ("--input", f"{k}={v}")),
        ]
        proc = self.run(argv, cwd=REPO, env={**self.env, "PYTHONPATH": str(REPO)}, timeout=1800)
        self.logs[name] = proc.stdout + proc.stderr
        jobs = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
        for line in jobs:
            print(json.dumps({"run": name, **line}), flush=True)
        self.outputs[name] = jobs
        cluster = self.root / "cluster" / "churn-staging.json"
        self.deployed[name] = json.loads(cluster.read_text()) if cluster.is_file() else {}
        if proc.returncode != 0:
            raise RuntimeError(
                f"run {name} failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
            )
        return jobs

    def all_runs(self) -> dict[str, list[dict[str, Any]]]:
        self.up()
        kubeconfig = base64.b64encode(KUBECONFIG.encode()).decode()
        secrets = {
            "ZENML_STORE_URL": f"http://127.0.0.1:{self.zenml_port}",
            "ZENML_STORE_API_KEY": self.api_key(),
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{self.mlflow_port}",
            "CHURN_PREDICTION_DB": self.database,
            "KUBECONFIG_STAGING": kubeconfig,
            "KUBECONFIG_PRODUCTION": kubeconfig,
        }
        source = self.source()
        for seed, (name, event, inputs, edits, drift) in enumerate(RUNS, start=11):
            if drift is not None:  # a drifted window fills it: the last 2000 rows
                self.traffic(drift, seed, rows=800 if drift == "none" else 2000)
            sha = self.commit(source, edits, f"ci-local run {name}")
            self.workflow(name, source, sha, event, inputs, secrets)
        return self.outputs


def _git(source: Path) -> list[str]:
    """git in the "pushed" repository, committing as the ci-local user."""
    return ["git", "-C", str(source), "-c", "user.name=ci-local", "-c", "user.email=ci@localhost"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "tmp" / "ci-local")
    parser.add_argument("--mlflow-port", type=int, default=5050)
    parser.add_argument("--zenml-port", type=int, default=8237)
    args = parser.parse_args(argv)
    if args.root.exists():
        shutil.rmtree(args.root)  # a fresh server every time: run 1 must find no model
    args.root.mkdir(parents=True)
    scenario = Scenario(args.root, args.mlflow_port, args.zenml_port)
    try:
        scenario.all_runs()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        scenario.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
