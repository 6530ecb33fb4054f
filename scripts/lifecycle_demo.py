"""`make lifecycle-demo`: the online model lifecycle end to end, on loopback, in isolated stores.

    .venv/bin/python scripts/lifecycle_demo.py [--workdir DIR] [--json]

1. Train v1 (configs/training_fast.yaml) and serve it (`bentoml serve`, 2 workers).
2. Train v2 and start a shadow experiment with it.
3. Replay traffic, then the customers' outcomes; `churn experiment status` shows both arms.
4. `churn model promote 2` under load: the running service answers v2 within 30 s, no restart,
   no failed request.
5. Outcomes that contradict v2's predictions: the monitoring pipeline rolls back by itself and the
   service answers v1 again.
6. `churn audit` lists every step with its actor.

Every store (ZenML, MLflow, BentoML, the project database, reports) lives under `--workdir` (a new
temporary folder by default): nothing of yours changes. Every `churn` step runs as the command a
user would type. The last line (with `--json`) is a JSON summary; tests/lifecycle/
test_lifecycle_e2e.py runs this script and checks it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from churn.schema import FEATURE_NAMES, ID_COLUMN, TARGET  # noqa: E402
from churn.settings import Settings  # noqa: E402
from tests.fixtures.predict_load import PredictLoad  # noqa: E402

FAST_CONFIG = REPO / "configs" / "training_fast.yaml"
SWITCH_S = 30.0
CUSTOMERS = 400  # the first replay: enough outcomes for the rollback rule (min_outcomes 200)
DEGRADED_CUSTOMERS = 800  # v2's served traffic outweighs its shadow scores of the first replay


def say(message: str) -> None:
    print(f"[lifecycle-demo] {message}", file=sys.stderr, flush=True)


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        (workdir / "repo" / ".zen").mkdir(parents=True, exist_ok=True)
        self.db = f"sqlite:///{workdir / 'project.db'}"
        self.env = {
            **os.environ,
            "ZENML_CONFIG_PATH": str(workdir / "zenml"),
            "ZENML_REPOSITORY_PATH": str(workdir / "repo"),
            "BENTOML_HOME": str(workdir / "bentoml"),
            "CHURN_MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlruns.db'}",
            "CHURN_PREDICTION_DB": self.db,
            "CHURN_REPORTS_DIR": str(workdir / "reports"),
            "CHURN_CUSTOMER_ID_KEY": "lifecycle-demo-secret",
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_LOGGING_VERBOSITY": "WARN",
            "BENTOML_DO_NOT_TRACK": "True",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        }
        self.service: Any = None
        self.headers: dict[str, str] = {}
        self.summary: dict[str, Any] = {"workdir": str(workdir)}

    # -- helpers ------------------------------------------------------------------------------

    def churn(self, *args: str) -> str:
        """Run `churn ARGS` as a user would; its stdout (stderr goes to the demo's log)."""
        say("$ churn " + " ".join(args))
        done = subprocess.run(
            [sys.executable, "-m", "churn.cli", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        with (self.workdir / "commands.log").open("a") as log:
            log.write(f"$ churn {' '.join(args)}\n{done.stdout}\n{done.stderr}\n")
        if done.returncode != 0:
            raise RuntimeError(f"churn {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def data(self) -> pd.DataFrame:
        real = Settings().real_data
        if real.exists():
            self.data_path = real
        else:
            from churn.generator import generate, to_csv_text

            self.data_path = self.workdir / "telco_churn.csv"
            self.data_path.write_text(to_csv_text(generate(7043, seed=42)))
        from churn.data import load_clean

        return load_clean(self.data_path)

    def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for start in range(0, len(records), 100):
            resp = requests.post(
                f"{self.service.url}/predict_batch",
                json={"customers": records[start : start + 100]},
                headers=self.headers,
                timeout=60,
            )
            resp.raise_for_status()
            out.extend(resp.json()["predictions"])
        return out

    def answering(self) -> str:
        resp = requests.post(
            f"{self.service.url}/predict",
            json={"customer": self.example},
            headers=self.headers,
            timeout=30,
        )
        resp.raise_for_status()
        return str(resp.json()["model_version"])

    def wait_for(self, version: str) -> float:
        """Seconds until 40 answers in a row come from `version`; fails after 30 s."""
        start = time.monotonic()
        streak = 0
        while streak < 40:
            if time.monotonic() - start > SWITCH_S:
                raise RuntimeError(f"the service did not answer with {version} within 30 s")
            streak = streak + 1 if self.answering() == version else 0
        return round(time.monotonic() - start, 2)

    def outcomes(self, customers: pd.DataFrame, churned: pd.Series, name: str) -> None:
        path = self.workdir / f"outcomes-{name}.csv"
        pd.DataFrame(
            {ID_COLUMN: customers[ID_COLUMN], "Churn": ["Yes" if c else "No" for c in churned]}
        ).to_csv(path, index=False)
        self.churn("outcomes", "import", str(path))

    def records(self, customers: pd.DataFrame) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = json.loads(
            customers[[ID_COLUMN, *FEATURE_NAMES]].to_json(orient="records")
        )
        return out

    # -- the story ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from tests.fixtures.launcher import start_service

        frame = self.data()
        self.churn("stack", "apply", "local")
        say("1. train v1 and serve it")
        self.churn("train", "--config", str(FAST_CONFIG), "--data", str(self.data_path))
        v1 = json.loads(self.churn("model", "status"))["production"]["version"]
        os.environ.update({k: v for k, v in self.env.items() if k.startswith(("BENTOML", "Z"))})
        self.service = start_service(
            env={
                **self.env,
                "CHURN_SERVICE_WORKERS": "2",
                "CHURN_MODEL_POLL_S": "2",
            },
            log_path=self.workdir / "service.log",
        )
        self.headers = self.service.headers  # the admin token the launcher made in its database
        self.example = self.records(frame.head(1))[0]
        self.summary["v1"] = v1
        self.summary["served_at_start"] = self.answering()

        say("2. train v2, start a shadow experiment with it")
        self.churn("train", "--config", str(FAST_CONFIG), "--data", str(self.data_path))
        versions = json.loads(self.churn("model", "status"))["versions"]
        v2 = str(versions[0]["version"])
        self.summary["v2"] = v2
        self.churn(
            "experiment", "start", "--challenger", v2, "--mode", "shadow",
            "--reason", "v2 on live traffic before promoting it",
        )  # fmt: skip
        self.wait_info(lambda info: info["experiment"]["mode"] == "shadow")

        say("3. replay traffic, then outcomes; experiment status")
        first = frame.sample(CUSTOMERS, random_state=1).reset_index(drop=True)
        first[ID_COLUMN] = [f"DEMO-A-{i}" for i in range(len(first))]
        answers = self.predict(self.records(first))
        self.summary["replay_1_versions"] = dict(Counter(a["model_version"] for a in answers))
        time.sleep(3)  # the shadow thread and the log writer
        self.outcomes(first, first[TARGET].astype(int).astype(bool), "first")
        self.summary["experiment_status"] = json.loads(self.churn("experiment", "status"))

        say("4. promote v2 under load")
        with PredictLoad(self.service, lambda _user: self.example) as load:
            time.sleep(2)
            self.churn("model", "promote", v2, "--reason", "shadow agreed; outcomes look good")
            self.summary["seconds_to_v2"] = self.wait_for(v2)
            time.sleep(1)
        self.summary["load_during_promotion"] = load.summary()

        say("5. degraded outcomes for v2: the monitoring pipeline rolls back")
        second = frame.sample(DEGRADED_CUSTOMERS, random_state=2).reset_index(drop=True)
        second[ID_COLUMN] = [f"DEMO-B-{i}" for i in range(len(second))]
        answers = self.predict(self.records(second))
        self.summary["replay_2_versions"] = dict(Counter(a["model_version"] for a in answers))
        time.sleep(3)
        # these customers did the opposite of what v2 said: v2 looks as bad as it gets
        self.outcomes(second, pd.Series([not a["churn"] for a in answers]), "degraded")
        monitor = json.loads(self.churn("monitor", "--config", str(self.monitoring_config())))
        self.summary["rollback"] = monitor.get("realized", {}).get("rollback")
        self.summary["seconds_to_v1"] = self.wait_for(v1)

        say("6. the audit trail")
        self.summary["audit"] = [
            {k: e[k] for k in ("action", "source", "actor", "from_version", "to_version")}
            for e in json.loads(self.churn("audit", "--json", "--limit", "100"))
        ]
        self.summary["service_restarts"] = 0 if self.service.process.poll() is None else 1
        return self.summary

    def wait_info(self, accept: Any) -> None:
        deadline = time.monotonic() + SWITCH_S
        while not all(accept(self.info()) for _ in range(10)):
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not pick up the experiment within 30 s")
            time.sleep(0.5)

    def info(self) -> dict[str, Any]:
        body: dict[str, Any] = requests.get(
            f"{self.service.url}/model_info", headers=self.headers, timeout=10
        ).json()
        return body

    def monitoring_config(self) -> Path:
        config = {
            "prediction_db": self.db,
            "reports_dir": str(self.workdir / "reports"),
            "min_rows": 100_000,  # the demo is about outcomes, not input drift
            "min_outcomes": 200,
            "min_realized_roc_auc": 0.6,
            "bootstrap_samples": 200,
            "rollback_on_degradation": True,
        }
        path = self.workdir / "monitoring.yaml"
        path.write_text(yaml.safe_dump({"enable_cache": False, "parameters": {"config": config}}))
        return path

    def close(self) -> None:
        if self.service is not None:
            self.service.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where the isolated stores go (default: new)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="churn-lifecycle-demo-"))
    demo = Demo(workdir.resolve())
    say(f"isolated stores under {demo.workdir}")
    try:
        summary = demo.run()
    finally:
        demo.close()
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
