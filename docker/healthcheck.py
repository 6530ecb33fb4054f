"""Container health check: GET a local URL, exit 0 on a 2xx answer, 1 otherwise.

    churn-healthcheck /healthz --port-env FLASK_PORT --default-port 5001
    churn-healthcheck /-/ready --port-env OBS_PORT --default-port 9091 \
      --password-file /etc/churn-monitoring/pushgateway.password     # basic auth (user: churn)

The port comes from the first set environment variable named by --port-env (so the check follows
the port the container was started with), the host from $HOST unless that is a wildcard address.
Standard library only: it runs in every image, whatever is installed there.
"""

from __future__ import annotations

import argparse
import base64
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
    parser.add_argument("--password-file", help="send basic auth with the password in this file")
    parser.add_argument("--user", default="churn", help="the basic-auth user (default: churn)")
    args = parser.parse_args(argv)
    url = target_url(args.path, args.port_env, args.default_port)
    request = urllib.request.Request(url)
    try:
        if args.password_file:
            with open(args.password_file, encoding="utf-8") as secret:
                pair = f"{args.user}:{secret.read().strip()}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not ok:
        print(f"unhealthy: {url}: HTTP {response.status}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
