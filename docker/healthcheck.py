"""Container health check: GET a local URL, exit 0 on a 2xx answer, 1 otherwise.

    churn-healthcheck /healthz --port-env FLASK_PORT --default-port 5001

The port comes from the first set environment variable named by --port-env (so the check follows
the port the container was started with), the host from $HOST unless that is a wildcard address.
Standard library only: it runs in every image, whatever is installed there.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request

WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


def target_url(path: str, port_envs: list[str], default_port: int) -> str:
    port = next((os.environ[n] for n in port_envs if os.environ.get(n)), str(default_port))
    host = os.environ.get("HOST", "").strip()
    host = "127.0.0.1" if host in WILDCARDS else host
    return f"http://{host}:{port}{path}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--port-env", action="append", default=[])
    parser.add_argument("--default-port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args(argv)
    url = target_url(args.path, args.port_env, args.default_port)
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not ok:
        print(f"unhealthy: {url}: HTTP {response.status}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
