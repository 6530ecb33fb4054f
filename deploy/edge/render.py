"""Render deploy/edge/nginx.conf.template from the environment, then (with --exec) run nginx on it.

The churn-edge container's entrypoint and tests/edge both go through here, so the configuration the
tests start is the one that ships. Every value is checked before it reaches nginx's syntax (a name
with a `;` or a space could add directives): a bad one stops with one line naming the variable.

    python3 deploy/edge/render.py OUT.conf            # write the configuration, make its folders
    python3 deploy/edge/render.py OUT.conf --exec     # ... then exec nginx on it (foreground)
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
PORT = re.compile(r"^[0-9]{1,5}$")
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")
ADDRESS = re.compile(r"^([0-9.]+|\[[0-9a-fA-F:]+\])$")
UPSTREAM = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
SIZE = re.compile(r"^[0-9]{1,6}[km]?$")
PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")

# template variable: (environment variable, default, pattern, what it must be)
SETTINGS: dict[str, tuple[str, str, re.Pattern[str], str]] = {
    "EDGE_SERVER_NAME": ("CHURN_EDGE_SERVER_NAME", "localhost", HOST, "a host name"),
    "EDGE_LISTEN": ("CHURN_EDGE_ADDR", "0.0.0.0", ADDRESS, "an IP address"),
    "EDGE_HTTP_PORT": ("CHURN_HTTP_PORT", "8080", PORT, "a port (1-65535)"),
    "EDGE_HTTPS_PORT": ("CHURN_HTTPS_PORT", "8443", PORT, "a port (1-65535)"),
    "EDGE_HEALTH_PORT": ("CHURN_EDGE_HEALTH_PORT", "8442", PORT, "a port (1-65535)"),
    "EDGE_CERT": ("CHURN_EDGE_CERT", "/etc/churn-edge/certs/server.crt", PATH, "an absolute path"),
    "EDGE_KEY": ("CHURN_EDGE_KEY", "/etc/churn-edge/certs/server.key", PATH, "an absolute path"),
    "EDGE_RUN_DIR": ("CHURN_EDGE_RUN_DIR", "/tmp/churn-edge", PATH, "an absolute path"),
    "EDGE_MAX_BODY": ("CHURN_EDGE_MAX_BODY", "8m", SIZE, "a size such as 8m"),
    "EDGE_WORKERS": ("CHURN_EDGE_WORKERS", "2", re.compile(r"^[1-9][0-9]?$"), "1-99"),
    "EDGE_SERVICE_UPSTREAM": ("CHURN_EDGE_SERVICE", "127.0.0.1:3000", UPSTREAM, "HOST:PORT"),
    "EDGE_FLASK_UPSTREAM": ("CHURN_EDGE_FLASK", "127.0.0.1:5001", UPSTREAM, "HOST:PORT"),
    "EDGE_DASHBOARD_UPSTREAM": ("CHURN_EDGE_DASHBOARD", "127.0.0.1:8501", UPSTREAM, "HOST:PORT"),
    "EDGE_GRAFANA_UPSTREAM": ("CHURN_EDGE_GRAFANA", "127.0.0.1:3001", UPSTREAM, "HOST:PORT"),
}
# ${EDGE_...} only: nginx's own $variables ($host, $request_uri) pass through untouched
PLACEHOLDER = re.compile(r"\$\{(EDGE_[A-Z_]+)\}")
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class EdgeConfigError(ValueError):
    """A setting nginx must not see; the message names the variable."""


def values(env: dict[str, str]) -> dict[str, str]:
    """The template's values from `env`, each checked; root runs the workers as www-data."""
    out = {}
    for key, (variable, default, pattern, what) in SETTINGS.items():
        value = env.get(variable, "").strip() or default
        if not pattern.match(value):
            raise EdgeConfigError(f"{variable}={value!r}: not {what}")
        if pattern is PORT and not 1 <= int(value) <= 65535:
            raise EdgeConfigError(f"{variable}={value!r}: not {what}")
        out[key] = value
    if len({out["EDGE_HTTP_PORT"], out["EDGE_HTTPS_PORT"], out["EDGE_HEALTH_PORT"]}) < 3:
        raise EdgeConfigError(
            "CHURN_HTTP_PORT, CHURN_HTTPS_PORT, CHURN_EDGE_HEALTH_PORT must differ"
        )
    out["EDGE_USER_LINE"] = "user www-data;" if os.geteuid() == 0 else ""
    return out


def render(env: dict[str, str]) -> tuple[str, Path]:
    """The configuration text and its run folder (pid file, request-body temp files)."""
    settings = values(env)
    text = PLACEHOLDER.sub(lambda m: settings[m.group(1)], TEMPLATE.read_text())
    return text, Path(settings["EDGE_RUN_DIR"])


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print("usage: render.py OUT.conf [--exec]", file=sys.stderr)
        return 2
    try:
        text, run_dir = render(dict(os.environ))
    except EdgeConfigError as exc:
        print(f"churn-edge: {exc}", file=sys.stderr)
        return 2
    for name in TEMP_DIRS:
        (run_dir / name).mkdir(parents=True, exist_ok=True)
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    if "--exec" in argv[1:]:
        os.execvp("nginx", ["nginx", "-e", "stderr", "-c", str(out), "-g", "daemon off;"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
