"""Run .github/workflows/ml-pipeline.yml on this machine: `make ci-local` and the suite use it.

No existing runner installs here (`act` needs Docker images and the actions' repositories from
github.com), so this one supports exactly what the workflow uses and refuses anything else:
- jobs in `needs` order, each in a fresh folder (its own HOME, so its own ZenML, BentoML and
  MLflow client state) with the job `if:` read as GitHub does (no status function means
  `success()`, which a skipped or failed ancestor, not only a direct need, makes false);
- `run:` steps executed as written (bash -eo pipefail) with GITHUB_OUTPUT and GITHUB_ENV;
  a step whose recipe talks to a cluster is checked offline (tests/ci_local/cluster.py), and a
  step that needs a container engine is skipped, saying so, when none answers;
- `uses:` steps mapped: checkout = a clean clone of the source repository at the commit,
  setup-uv = the project's venv, artifacts = a folder, registry login and the image scan =
  skipped with the reason; any other action stops the run.
Each job prints one JSON line (result, outputs, the steps mapped or skipped) on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.ci_local.cluster import (
    Cluster,
    ClusterStepError,
    needs_engine,
    run_offline,
    talks_to_cluster,
)
from tests.ci_local.expressions import ExpressionError, condition, substitute

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_KEYS = {"name", True, "on", "permissions", "concurrency", "env", "jobs"}
JOB_KEYS = {
    "name",
    "needs",
    "if",
    "runs-on",
    "timeout-minutes",
    "outputs",
    "steps",
    "env",
    "permissions",
    "environment",
}
STEP_KEYS = {"name", "id", "if", "run", "uses", "with", "env"}


class WorkflowError(RuntimeError):
    """Something in the workflow this runner does not support: the run stops, naming it."""


@dataclass
class Options:
    source: Path  # the git repository whose commit is "pushed"
    sha: str
    event: str
    ref: str
    run_id: str
    workdir: Path  # this run's folder (jobs, artifacts, logs)
    cluster: Path  # outlives runs, like a cluster
    venv: Path
    workflow: Path = REPO / ".github" / "workflows" / "ml-pipeline.yml"
    inputs: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    assume: dict[str, str] = field(default_factory=dict)  # job -> why it is not run here
    runner_env: dict[str, str] = field(default_factory=dict)  # the runner machine's environment
    owner: str = "telco-churn"
    engine: bool = False


@dataclass
class JobRun:
    job: str
    result: str = "skipped"  # success | failure | skipped
    outputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log: str = ""


def _mask(secrets: dict[str, str]) -> Any:
    values = sorted((v for v in secrets.values() if len(v) >= 4), key=len, reverse=True)

    def mask(text: str) -> str:
        for value in values:
            text = text.replace(value, "***")
        return text

    return mask


def read_pairs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: `k=v` lines and `k<<DELIM` blocks."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[key] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


def _check_keys(where: str, found: Any, allowed: set[Any]) -> None:
    unknown = sorted(str(k) for k in set(found) - allowed)
    if unknown:
        raise WorkflowError(f"{where}: {unknown} not supported by this runner")


def _order(jobs: dict[str, Any]) -> list[str]:
    done: list[str] = []
    while len(done) < len(jobs):
        ready = [j for j in jobs if j not in done and set(needs_of(jobs[j])) <= set(done)]
        if not ready:
            raise WorkflowError(
                f"`needs` has a cycle or an unknown job among {set(jobs) - set(done)}"
            )
        done.append(ready[0])
    return done


def needs_of(spec: dict[str, Any]) -> list[str]:
    needs = spec.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _status(success: bool, failure: bool) -> dict[str, Callable[[], bool]]:
    return {
        "success": lambda: success,
        "failure": lambda: failure,
        "always": lambda: True,
        "cancelled": lambda: False,  # nothing cancels a local run
    }


def _triggered(on: Any, event: str, ref: str) -> bool:
    if event not in on:
        return False
    filters = on[event] or {}
    branches = filters.get("branches") if isinstance(filters, dict) else None
    return branches is None or ref.removeprefix("refs/heads/") in branches


class Runner:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.workflow = yaml.safe_load(opts.workflow.read_text())
        _check_keys("workflow", self.workflow, WORKFLOW_KEYS)
        self.jobs: dict[str, Any] = self.workflow["jobs"]
        self.runs: dict[str, JobRun] = {}
        self.mask = _mask(opts.secrets)
        self.cluster = Cluster(opts.cluster)
        on = self.workflow[True] if True in self.workflow else self.workflow["on"]
        if not _triggered(on, opts.event, opts.ref):
            raise WorkflowError(f"the workflow does not run on {opts.event} to {opts.ref}")
        dispatch = (on.get("workflow_dispatch") or {}).get("inputs", {})
        unknown = set(opts.inputs) - set(dispatch)
        if unknown:
            raise WorkflowError(f"inputs {sorted(unknown)} are not declared by workflow_dispatch")
        self.inputs = (
            {
                k: str(opts.inputs.get(k, v.get("default", ""))).lower()
                if isinstance(v.get("default"), bool)
                else str(opts.inputs.get(k, v.get("default", "")))
                for k, v in dispatch.items()
            }
            if opts.event == "workflow_dispatch"
            else {}
        )

    # ------------------------------------------------------------------ contexts
    def github(self) -> dict[str, Any]:
        return {
            "event_name": self.opts.event,
            "ref": self.opts.ref,
            "sha": self.opts.sha,
            "run_id": self.opts.run_id,
            "repository": f"{self.opts.owner}/churn",
            "repository_owner": self.opts.owner,
            "actor": "ci-local",
            "event": {"inputs": self.inputs or None},
        }

    def context(
        self, job: str, env: dict[str, str], steps: dict[str, Any], temp: Path
    ) -> dict[str, Any]:
        needs = {
            n: {"result": self.runs[n].result, "outputs": self.runs[n].outputs}
            for n in needs_of(self.jobs[job])
        }
        inputs = {k: (v == "true" if v in ("true", "false") else v) for k, v in self.inputs.items()}
        return {
            "github": self.github(),
            "env": env,
            "secrets": {**self.opts.secrets, "GITHUB_TOKEN": "ci-local-token"},
            "vars": self.opts.variables,
            "needs": needs,
            "steps": steps,
            "runner": {"temp": str(temp), "os": "Linux"},
            "inputs": inputs,
        }

    def _job_status(self, ancestors: set[str]) -> dict[str, Callable[[], bool]]:
        """GitHub's job-level status functions look at every ancestor, not only `needs`."""
        results = [self.runs[n].result for n in ancestors]
        return _status(all(r == "success" for r in results), "failure" in results)

    def _ancestors(self, job: str) -> set[str]:
        found: set[str] = set()
        todo = needs_of(self.jobs[job])
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo.extend(needs_of(self.jobs[name]))
        return found

    # ------------------------------------------------------------------ jobs
    def run(self) -> list[JobRun]:
        for job in _order(self.jobs):
            spec = self.jobs[job]
            _check_keys(f"job {job}", spec, JOB_KEYS)
            started = time.monotonic()
            record = JobRun(job)
            self.runs[job] = record
            if job in self.opts.assume:
                record.result = "success"
                record.notes.append(f"not run here: {self.opts.assume[job]}")
            else:
                functions = self._job_status(self._ancestors(job))
                env = {
                    k: substitute(str(v), self.context(job, {}, {}, self.opts.workdir))
                    for k, v in (self.workflow.get("env") or {}).items()
                }
                if condition(
                    spec.get("if"), self.context(job, env, {}, self.opts.workdir), functions
                ):
                    self._run_job(job, spec, env, record)
                else:
                    record.notes.append(f"if: {spec.get('if', 'success()')} is false")
            record.seconds = round(time.monotonic() - started, 1)
            line = {
                "run_id": self.opts.run_id,
                "event": self.opts.event,
                "job": job,
                "result": record.result,
                "outputs": record.outputs,
                "notes": record.notes,
                "seconds": record.seconds,
            }
            print(self.mask(json.dumps(line)), flush=True)
            if record.result == "failure":
                print(self.mask(record.log[-6000:]), file=sys.stderr, flush=True)
        return list(self.runs.values())

    def _base_env(self, home: Path, workspace: Path, temp: Path) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TZ", "UV_CACHE_DIR", "TMPDIR", "CHURN_REAL_DATA")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        return {
            **env,
            **self.opts.runner_env,
            "HOME": str(home),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_RUN_ID": self.opts.run_id,
            "GITHUB_SHA": self.opts.sha,
            "GITHUB_REF": self.opts.ref,
            "GITHUB_EVENT_NAME": self.opts.event,
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(temp),
        }

    def _run_job(self, job: str, spec: dict[str, Any], env: dict[str, str], record: JobRun) -> None:
        root = Path(tempfile.mkdtemp(prefix=f"{job}-", dir=self.opts.workdir))
        home, workspace, temp = root / "home", root / "workspace", root / "temp"
        for path in (home, workspace, temp):
            path.mkdir()
        job_env = dict(env)
        ctx = self.context(job, job_env, {}, temp)
        job_env.update({k: substitute(str(v), ctx) for k, v in (spec.get("env") or {}).items()})
        steps: dict[str, Any] = {}
        failed = False
        deadline = time.monotonic() + 60 * float(spec.get("timeout-minutes", 360))
        log: list[str] = []
        for number, step in enumerate(spec["steps"], 1):
            _check_keys(f"job {job} step {number}", step, STEP_KEYS)
            name = step.get("name") or step.get("run") or step.get("uses")
            functions = _status(not failed, failed)
            ctx = self.context(job, job_env, steps, temp)
            outputs: dict[str, str] = {}
            outcome, began = "skipped", time.monotonic()
            if condition(step.get("if"), ctx, functions):
                step_env = {k: substitute(str(v), ctx) for k, v in (step.get("env") or {}).items()}
                try:
                    outcome, outputs = self._step(
                        step,
                        ctx,
                        {**self._base_env(home, workspace, temp), **job_env, **step_env},
                        workspace,
                        job_env,
                        record,
                        log,
                    )
                except (ClusterStepError, subprocess.TimeoutExpired) as exc:
                    outcome = "failure"
                    log.append(f"!! {exc}")
                if time.monotonic() > deadline:
                    outcome = "failure"
                    log.append(f"!! job {job} ran over its timeout-minutes")
            log.append(f"== step {number} ({name}): {outcome} ({time.monotonic() - began:.1f} s)")
            if "id" in step:
                steps[step["id"]] = {"outputs": outputs, "outcome": outcome, "conclusion": outcome}
            failed = failed or outcome == "failure"
        record.log = "\n".join(log)
        (self.opts.workdir / f"{job}.log").write_text(self.mask(record.log) + "\n")
        record.result = "failure" if failed else "success"
        if not failed:
            ctx = self.context(job, job_env, steps, temp)
            record.outputs = {
                k: substitute(str(v), ctx) for k, v in (spec.get("outputs") or {}).items()
            }

    # ------------------------------------------------------------------ steps
    def _step(
        self,
        step: dict[str, Any],
        ctx: dict[str, Any],
        env: dict[str, str],
        workspace: Path,
        job_env: dict[str, str],
        record: JobRun,
        log: list[str],
    ) -> tuple[str, dict[str, str]]:
        if "uses" in step:
            return self._uses(step, ctx, workspace, job_env, record, log), {}
        script = substitute(str(step["run"]), ctx)
        files = {
            n: Path(env["RUNNER_TEMP"]) / f"{n.lower()}-{time.monotonic_ns()}"
            for n in ("GITHUB_OUTPUT", "GITHUB_ENV")
        }
        for path in files.values():
            path.touch()
        env = {**env, **{k: str(v) for k, v in files.items()}}
        words = shlex.split(script) if script.lstrip().startswith("make ") else []
        if words and "\n" not in script.strip():
            dry = subprocess.run(
                [*words[:1], "-n", *words[1:]],
                cwd=workspace,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            recipe = dry.stdout
            if dry.returncode == 0 and talks_to_cluster(recipe) and words[1:2] != ["kubeconfig"]:
                self.cluster.notes = record.notes
                run_offline(recipe, workspace, self.cluster, env, self.mask)
                log.append(f"$ {script}\n(checked offline)\n{recipe}")
                return "success", {}
            if dry.returncode == 0 and needs_engine(recipe) and not self.opts.engine:
                record.notes.append(f"{script}: skipped, no container engine answers here")
                return "success", {}
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        log.append(f"$ {script}\n{proc.stdout}{proc.stderr}")
        job_env.update(read_pairs(files["GITHUB_ENV"]))
        return ("success" if proc.returncode == 0 else "failure"), read_pairs(
            files["GITHUB_OUTPUT"]
        )

    def _uses(
        self,
        step: dict[str, Any],
        ctx: dict[str, Any],
        workspace: Path,
        job_env: dict[str, str],
        record: JobRun,
        log: list[str],
    ) -> str:
        action, _, version = str(step["uses"]).partition("@")
        args = {k: substitute(str(v), ctx) for k, v in (step.get("with") or {}).items()}
        if action == "actions/checkout":
            _check_keys(step["uses"], args, set())
            subprocess.run(
                ["git", "clone", "-q", str(self.opts.source), str(workspace)], check=True
            )
            subprocess.run(
                ["git", "-C", str(workspace), "checkout", "-q", self.opts.sha], check=True
            )
            log.append(f"checkout: clean clone of {self.opts.source} at {self.opts.sha[:12]}")
        elif action == "astral-sh/setup-uv":
            _check_keys(step["uses"], args, {"enable-cache", "python-version"})
            self._project_venv(workspace, args.get("python-version", ""))
            job_env["PYTHONPATH"] = str(workspace)  # the clone's code, not the venv's editable path
        elif action == "actions/upload-artifact":
            _check_keys(step["uses"], args, {"name", "path", "if-no-files-found", "retention-days"})
            source = workspace / args["path"]
            target = self.opts.workdir / "artifacts" / args["name"]
            if not source.exists():
                if args.get("if-no-files-found", "warn") == "error":
                    return "failure"
                record.notes.append(f"upload-artifact {args['name']}: no files at {args['path']}")
            elif source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / source.name)
        elif action == "actions/download-artifact":
            _check_keys(step["uses"], args, {"name", "path"})
            found = self.opts.workdir / "artifacts" / args["name"]
            if not found.is_dir():
                return "failure"
            shutil.copytree(found, workspace / args.get("path", "."), dirs_exist_ok=True)
        elif action == "docker/login-action":
            _check_keys(step["uses"], args, {"registry", "username", "password"})
            record.notes.append(
                f"registry login to {args.get('registry')}: skipped, "
                "no registry is reachable from here"
            )
        elif action == "aquasecurity/trivy-action":
            record.notes.append(
                f"image scan of {args.get('image-ref')}: skipped, no image was pushed "
                "and no vulnerability database is reachable"
            )
        else:
            raise WorkflowError(f"action {action}@{version} has no local equivalent in this runner")
        return "success"

    def _project_venv(self, workspace: Path, python_version: str) -> None:
        """`.venv` in the clone made of links to the project's venv, marked as synced so `make
        venv` does not touch the shared one."""
        have = f"{sys.version_info.major}.{sys.version_info.minor}"
        if python_version and python_version != have:
            raise WorkflowError(
                f"setup-uv asks for Python {python_version}; the project's venv has {have}"
            )
        venv = workspace / ".venv"
        venv.mkdir()
        for entry in self.opts.venv.iterdir():
            if entry.name != ".synced":
                (venv / entry.name).symlink_to(entry)
        (venv / ".synced").touch()


def run_workflow(opts: Options) -> list[JobRun]:
    """Run the workflow once; every job's JSON line is printed as it ends."""
    opts.workdir.mkdir(parents=True, exist_ok=True)
    try:
        return Runner(opts).run()
    except ExpressionError as exc:
        raise WorkflowError(str(exc)) from None


def _pairs(items: list[str], what: str) -> dict[str, str]:
    bad = [i for i in items if "=" not in i]
    if bad:
        raise SystemExit(f"error: {what} must be NAME=VALUE, got {bad}")
    return dict(i.split("=", 1) for i in items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO, help="git repository to clone")
    parser.add_argument("--sha", help="commit (default: the source's HEAD)")
    parser.add_argument("--event", default="push")
    parser.add_argument("--ref", default="refs/heads/develop")
    parser.add_argument("--run-id", default=str(int(time.time())))
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument(
        "--cluster", type=Path, required=True, help="folder standing for the cluster"
    )
    parser.add_argument("--input", action="append", default=[], help="workflow_dispatch NAME=VALUE")
    parser.add_argument("--secret", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--var", action="append", default=[], help="repository variable NAME=VALUE")
    parser.add_argument(
        "--runner-env",
        action="append",
        default=[],
        help="the runner machine's environment NAME=VALUE",
    )
    parser.add_argument("--assume", action="append", default=[], help="JOB=why it is not run here")
    args = parser.parse_args(argv)
    sha = (
        args.sha
        or subprocess.run(
            ["git", "-C", str(args.source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    engine = (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    )
    opts = Options(
        source=args.source,
        sha=sha,
        event=args.event,
        ref=args.ref,
        run_id=args.run_id,
        workdir=args.workdir,
        cluster=args.cluster,
        venv=Path(sys.prefix),
        inputs=_pairs(args.input, "--input"),
        secrets=_pairs(args.secret, "--secret"),
        variables=_pairs(args.var, "--var"),
        runner_env=_pairs(args.runner_env, "--runner-env"),
        assume=_pairs(args.assume, "--assume"),
        engine=engine,
    )
    try:
        runs = run_workflow(opts)
    except WorkflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if any(r.result == "failure" for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
