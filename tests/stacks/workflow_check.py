"""Checks that a GitHub workflow runs what is tested here, by dry-running each step with `make -n`.

For every `run:` step: it is one `make` call; each target exists; every variable the step passes
(on the command line or in `env:`) is read by the recipe; every `churn` command in the recipe
parses with the CLI's own parser; every file the step reads is in the repository or written by an
earlier step of the same job; a job that reads or writes models (training, the drift check, the
promotion decision, the production Bento) applies a ZenML stack first, and never the runner's
`local` one (it would start from nothing every run); and `image` and the deploy jobs still run when
the drift gate skips `train` (GitHub's default `success()` is false below a skipped job).
`problems()` returns one line per finding, so a test can feed it a broken copy and see which rule
caught it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
RUNNER_TEMP = "/gha/runner.temp"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Paths a step can read or write: the repository's data and output folders, and the runner's temp.
_PATH = re.compile(
    r"(?<![\w./-])((?:/gha/runner\.temp|reports|tmp|data|configs|deploy|load_tests|monitoring"
    r"|stacks|scripts)/[\w./-]*[\w-])"
)
# What precedes a path that a command writes (an option or a redirection), or a command that
# writes its last argument.
_WRITE_BEFORE = re.compile(r"(--out|--summary-out|--csv|--html|--output|>|>>|-o|tee -a|tee)\s*$")
_SHELL_OPERATORS = {"&&", "||", ";", "|", ">", ">>", "2>&1", "&"}


def _substitute(text: str) -> str:
    """GitHub expressions -> stand-in values make can dry-run with."""

    def value(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr == "runner.temp":
            return RUNNER_TEMP
        return "gha-" + re.sub(r"[^\w]+", "-", expr).strip("-")

    return _EXPRESSION.sub(value, text)


def _make() -> str:
    make = shutil.which("make")
    if make is None:
        raise RuntimeError("make is required to check the workflow")
    return make


def dry_run(targets: list[str], variables: dict[str, str], env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run(
        [_make(), "-n", "-f", "Makefile", *targets, *(f"{k}={v}" for k, v in variables.items())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env, "GITHUB_OUTPUT": "", "GITHUB_ENV": ""},
    )
    return proc.returncode, proc.stdout + proc.stderr


@cache
def _cli_parser() -> Any:
    from churn.cli import build_parser

    return build_parser()


def churn_commands(text: str) -> list[list[str]]:
    """The argument lists of every `churn` call in shell text (path prefixes allowed)."""
    found = []
    for line in text.splitlines():
        try:
            words = shlex.split(line, posix=True)
        except ValueError:
            continue
        for i, word in enumerate(words):
            if Path(word).name == "churn" and (i == 0 or words[i - 1] in _SHELL_OPERATORS):
                args = []
                for arg in words[i + 1 :]:
                    if arg in _SHELL_OPERATORS:
                        break
                    args.append(arg)
                found.append(args)
    return found


def parse_error(args: list[str]) -> str | None:
    """None when `churn ARGS` parses, else argparse's message."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            _cli_parser().parse_args(args)
        except SystemExit as exc:
            if exc.code not in (0, None):
                return err.getvalue().strip().splitlines()[-1] if err.getvalue() else "error"
    return None


def file_uses(text: str) -> tuple[set[str], set[str]]:
    """(read, written) paths in shell text."""
    text = text.replace(str(REPO) + "/", "").replace(str(REPO), ".")
    reads: set[str] = set()
    writes: set[str] = set()
    for match in _PATH.finditer(text):
        path = match.group(1)
        before = text[: match.start()]
        if _WRITE_BEFORE.search(before) or re.search(r"\bexport \S+ $", before):
            writes.add(path)
        else:
            reads.add(path)
    if re.search(r"\bdvc (pull|repro)\b", text):
        stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
        writes.update(out for stage in stages.values() for out in stage.get("outs", []))
    return reads, writes


@cache
def tracked_files() -> frozenset[str]:
    proc = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return frozenset(proc.stdout.splitlines())


def _available(path: str, written: set[str]) -> bool:
    """In the repository (a file, or a folder of files), or under/after a path written earlier
    (`--csv reports/load_test` writes reports/load_test_stats.csv)."""
    tracked = tracked_files()
    if path in tracked or any(f.startswith(path.rstrip("/") + "/") for f in tracked):
        return True
    return any(path.startswith(w) for w in written)


@dataclass
class StepResult:
    job: str
    name: str
    recipe: str = ""
    problems: list[str] = field(default_factory=list)


def check_step(job: str, step: dict[str, Any], written: set[str]) -> StepResult:
    name = step.get("name") or step.get("run") or step.get("uses", "?")
    result = StepResult(job, str(name))
    where = f"{job} / {name}"
    if "uses" in step:
        if step["uses"].startswith("actions/download-artifact"):
            written.add(_substitute(str(step.get("with", {}).get("path", ""))))
        return result
    text = _substitute(str(step["run"])).strip()
    words = shlex.split(text)
    for args in churn_commands(text):
        if (error := parse_error(args)) is not None:
            result.problems.append(f"{where}: `churn {' '.join(args)}` does not parse: {error}")
    if not words or words[0] != "make" or any(w in _SHELL_OPERATORS for w in words):
        result.problems.append(f"{where}: not a single make call: {text[:80]}")
        return result
    targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
    variables = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    env = {k: "gha-secret" for k in step.get("env", {})}
    code, out = dry_run(targets, variables, env)
    if code != 0:
        result.problems.append(f"{where}: make -n {' '.join(targets)} fails: {out.strip()[-300:]}")
        return result
    result.recipe = out
    for var in variables:
        sentinel = f"zz{var.lower()}zz"
        _, probe = dry_run(targets, {**variables, var: sentinel}, env)
        if sentinel not in probe:
            result.problems.append(f"{where}: {var} is passed but no recipe of {targets} reads it")
    for var in env:
        if f"${var}" not in out and f"${{{var}}}" not in out:
            _, probe = dry_run(targets, variables, {**env, var: f"zz{var.lower()}zz"})
            if f"zz{var.lower()}zz" not in probe:
                result.problems.append(f"{where}: env {var} is set but no recipe reads it")
    for args in churn_commands(out):
        if (error := parse_error(args)) is not None:
            result.problems.append(f"{where}: `churn {' '.join(args)}` does not parse: {error}")
    reads, writes = file_uses(out)
    for path in sorted(reads - writes):
        if not _available(path, written):
            result.problems.append(
                f"{where}: reads {path}, which no earlier step writes and the repository lacks"
            )
    written.update(writes)
    return result


def problems(workflow_path: Path) -> list[str]:
    workflow = yaml.safe_load(workflow_path.read_text())
    found: list[str] = []
    for job, spec in workflow["jobs"].items():
        written: set[str] = set()
        stack_applied = False
        for step in spec["steps"]:
            result = check_step(job, step, written)
            found.extend(result.problems)
            commands = churn_commands(result.recipe)
            for args in commands:
                if args[:2] == ["stack", "apply"]:
                    stack_applied = True
                    if args[2:3] == ["local"]:
                        found.append(
                            f"{job} / {result.name}: applies the runner's local stack; CI must "
                            "use the team's stack (make stack-ci)"
                        )
            if touches_models(result.recipe) and not stack_applied:
                found.append(
                    f"{job} / {result.name}: reads or writes models before any step applies "
                    "a ZenML stack"
                )
    found.extend(ships_without_training(workflow))
    return found


# Commands that read or write models on the ZenML server (the recipe's `churn ARGS` or script).
_MODEL_COMMANDS = (("train",), ("monitor",), ("model",), ("rollback",))
_MODEL_SCRIPTS = ("scripts/ci_model.py",)


def touches_models(recipe: str) -> bool:
    commands = churn_commands(recipe)
    return any(tuple(a[:1]) in _MODEL_COMMANDS for a in commands) or any(
        s in recipe for s in _MODEL_SCRIPTS
    )


def ships_without_training(workflow: dict[str, Any]) -> list[str]:
    """A push to main whose drift gate skips `train`: the jobs after it must still run."""
    from tests.ci_local.expressions import ExpressionError, condition

    jobs = workflow["jobs"]
    results: dict[str, str] = {}
    found = []
    for job, spec in jobs.items():  # the file lists jobs after the ones they need
        needs = [spec["needs"]] if isinstance(spec.get("needs"), str) else spec.get("needs", [])
        ancestors, todo = set(), list(needs)
        while todo:
            name = todo.pop()
            ancestors.add(name)
            need = jobs[name].get("needs", [])
            todo.extend([need] if isinstance(need, str) else need)
        ctx = {
            "github": {"event_name": "push", "ref": "refs/heads/main", "event": {"inputs": None}},
            "needs": {n: {"result": results.get(n, "skipped"), "outputs": {}} for n in needs},
        }
        status = {
            "success": lambda a=ancestors: all(results.get(n) == "success" for n in a),
            "failure": lambda: False,
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        if job == "train":
            results[job] = "skipped"  # the gate said: no drift
            continue
        try:
            runs = condition(spec.get("if"), ctx, status)
        except ExpressionError as exc:
            found.append(f"{job}: `if` not understood: {exc}")
            runs = False
        results[job] = "success" if runs else "skipped"
        if "train" in ancestors and not runs:
            found.append(
                f"{job}: skipped on a push to main when `train` is skipped (no drift): a "
                "code-only change never ships"
            )
    return found
