"""Importing any module of the product touches nothing: no file beyond Python's own, no socket,
no database, no settings file (docs/ARCHITECTURE.md, "Nothing happens at import").

Every module of `churn`, `bentos`, `steps`, `pipelines` and `frontends` is imported in one fresh
interpreter, with no `CHURN_*` variable and an empty HOME, under an audit hook (PEP 578) that
records each file written, each file of the checkout or HOME read (but Python source), each
socket connected and each SQLite connection; and that nothing called `get_settings()`.
Libraries reading their own data (the time zone files) are not the product's doing. Entry-point
scripts (a Streamlit page, the WSGI, gunicorn and Alembic files) run the program they start, so
they are not imported here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from churn.schema import FEATURES

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("churn", "bentos", "steps", "pipelines", "frontends")
ENTRY_POINTS = ("wsgi.py", "gunicorn.conf.py", "Home.py", "env.py")

PROBE = r"""
import importlib, json, os, sys
touched = []
repo, home = os.getcwd(), os.path.expanduser("~")
venv = tuple(p for p in {sys.prefix, sys.base_prefix, sys.exec_prefix} if p)

def hook(event, args):
    if event == "open" and isinstance(args[0], str):
        path, mode = os.path.abspath(args[0]), str(args[1] or "r")
        # the interpreter's own bytecode cache (written as `x.pyc.<id>`, then renamed) is not ours
        cache = f"{os.sep}__pycache__{os.sep}" in path
        source = path.endswith((".py", ".pyc", ".pth", ".typed")) or path.startswith(venv) or cache
        ours = path.startswith((repo + os.sep, home + os.sep)) and not source
        if any(m in mode for m in "wax+") or ours:
            touched.append(f"open {path} {mode}")
    elif event == "socket.connect" or event == "sqlite3.connect":
        touched.append(f"{event} {args[1:] if event.startswith('socket') else args}")
    elif event == "socket.bind" and args[1][1:2] != (0,):  # port 0: urllib3's IPv6 probe
        touched.append(f"{event} {args[1]}")

modules = json.loads(sys.argv[1])
sys.addaudithook(hook)
from churn.settings import get_settings
found = {}
for name in modules:
    before = len(touched)
    importlib.import_module(name)
    if get_settings.cache_info().currsize:
        touched.append("get_settings() called")
        get_settings.cache_clear()
    if len(touched) > before:
        found[name] = touched[before:]
print(json.dumps(found))
"""


def _modules() -> list[str]:
    out = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            rel = path.relative_to(REPO_ROOT)
            if path.name in ENTRY_POINTS or path.stem == "__main__" or "pages" in rel.parts:
                continue
            parts = rel.with_suffix("").parts
            out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_the_schema_has_its_19_features() -> None:
    assert len(FEATURES) == 19  # was an assert at import of churn/schema.py


def test_importing_every_module_touches_no_file_socket_or_database(tmp_path: Path) -> None:
    # PROMETHEUS_MULTIPROC*: Feast, imported through ZenML elsewhere in this pytest process, sets
    # it; a fresh process has none
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHURN_", "ZENML_", "PROMETHEUS_MULTIPROC"))
    }
    env.update(HOME=str(tmp_path), PYTHONPATH=str(REPO_ROOT), BENTOML_DO_NOT_TRACK="True")
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(_modules())],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found == {}, json.dumps(found, indent=1)[:4000]
