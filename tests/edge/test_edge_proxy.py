"""The edge proxy's nginx configuration (deploy/edge), as the churn-edge container runs it.

Debian's nginx starts on 127.0.0.1 on free ports with the shipped template rendered by the shipped
deploy/edge/render.py, certificates from deploy/edge/make_certs.sh (what `make certs` runs) in a
temporary folder, in front of three small HTTP servers standing in for the service, Flask and the
dashboard (this checks the proxy's mechanics, not the apps). One nginx for the module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.fixtures.http import wait_for_http
from tests.fixtures.ports import free_port

REPO = Path(__file__).resolve().parents[2]
EDGE = REPO / "deploy" / "edge"
SERVER_NAME = "localhost"
MAX_BODY_MB = 8  # render.py's default CHURN_EDGE_MAX_BODY


def upstream(name: str) -> ThreadingHTTPServer:
    """Answers every GET/POST with its name, the path and headers it got (JSON), saying it may
    be cached and framed anywhere: the edge must override both."""

    class Echo(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps(
                {"upstream": name, "path": self.path, "headers": dict(self.headers.items())}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=600")
            self.send_header("X-Frame-Options", "ALLOWALL")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("edge")
    certs = root / "certs"
    subprocess.run(
        ["bash", str(EDGE / "make_certs.sh"), str(certs), SERVER_NAME],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    servers = {name: upstream(name) for name in ("service", "flask", "dashboard")}
    http_port, https_port = free_port(), free_port()
    env = {
        **os.environ,
        "CHURN_EDGE_SERVER_NAME": SERVER_NAME,
        "CHURN_EDGE_ADDR": "127.0.0.1",
        "CHURN_HTTP_PORT": str(http_port),
        "CHURN_HTTPS_PORT": str(https_port),
        "CHURN_EDGE_CERT": str(certs / "server.crt"),
        "CHURN_EDGE_KEY": str(certs / "server.key"),
        "CHURN_EDGE_RUN_DIR": str(root / "run"),
        "CHURN_EDGE_WORKERS": "1",
        **{
            f"CHURN_EDGE_{name.upper()}": f"127.0.0.1:{server.server_address[1]}"
            for name, server in servers.items()
        },
    }
    log = root / "nginx.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, str(EDGE / "render.py"), str(root / "nginx.conf"), "--exec"],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"https://{SERVER_NAME}:{https_port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(certs / "ca.crt"))  # requests trusts the local CA
        try:
            wait_for_http(f"{base}/api/readyz", 15, process=proc, log=log, interval_s=0.1)
            yield {
                "https": base,
                "http": f"http://127.0.0.1:{http_port}",
                "port": str(https_port),
                "ca": str(certs / "ca.crt"),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            for server in servers.values():
                server.shutdown()
                server.server_close()


def test_plain_http_only_redirects_to_the_configured_name(edge: dict[str, str]) -> None:
    got = requests.get(
        f"{edge['http']}/predict?x=1",
        headers={"Host": "attacker.example"},
        allow_redirects=False,
        timeout=5,
    )
    assert got.status_code == 308
    assert got.headers["Location"] == f"https://{SERVER_NAME}:{edge['port']}/predict?x=1"


def test_routes_hsts_and_one_trusted_hop(edge: dict[str, str]) -> None:
    spoofed = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "http"}
    api = requests.get(f"{edge['https']}/api/readyz", headers=spoofed, timeout=5)
    assert api.status_code == 200
    assert api.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    seen = api.json()
    assert (seen["upstream"], seen["path"]) == ("service", "/readyz")
    # the client's own forwarded headers are replaced, not appended to (ProxyFix trusts one hop)
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "https"
    # the apps see the configured name and port (CSRF referrer and WebSocket origin checks)
    assert seen["headers"]["Host"] == f"{SERVER_NAME}:{edge['port']}"
    routes = {
        path: requests.get(f"{edge['https']}{path}", timeout=5).json()
        for path in ("/", "/predict-form", "/dashboard/_stcore/health")
    }
    assert {p: (r["upstream"], r["path"]) for p, r in routes.items()} == {
        "/": ("flask", "/"),
        "/predict-form": ("flask", "/predict-form"),
        "/dashboard/_stcore/health": ("dashboard", "/dashboard/_stcore/health"),
    }


@pytest.mark.parametrize("path", ["/", "/download.csv", "/api/readyz", "/dashboard/", "/nothing"])
def test_every_answer_is_framed_by_nobody_and_never_cached(edge: dict[str, str], path: str) -> None:
    got = requests.get(f"{edge['https']}{path}", timeout=5)
    assert got.headers["Cache-Control"] == "no-store"  # the upstream's "public" replaced
    assert got.headers["X-Frame-Options"] == "DENY"
    assert got.headers["Referrer-Policy"] == "same-origin"  # Flask-WTF's HTTPS referrer check
    csp = got.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    if not path.startswith("/dashboard/"):
        assert "unsafe-eval" not in csp and "script-src" not in csp  # default-src 'self'


def test_the_dashboards_hashed_static_files_alone_may_be_cached(edge: dict[str, str]) -> None:
    got = requests.get(f"{edge['https']}/dashboard/static/js/main.abc123.js", timeout=5)
    assert got.headers["Cache-Control"] == "private, max-age=86400"


@pytest.mark.parametrize(
    "path", ["/metrics", "/api/metrics", "/api//metrics", "/api/metrics/x", "/api/%6Detrics",
             "/grafana/metrics", "/metrics?format=prometheus"],
)  # fmt: skip
def test_metrics_are_not_routed(edge: dict[str, str], path: str) -> None:
    got = requests.get(f"{edge['https']}{path}", timeout=5)
    assert got.status_code == 404
    assert "upstream" not in got.text  # no echo server was asked


def test_only_the_dashboard_gets_a_websocket_upgrade(edge: dict[str, str]) -> None:
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
    seen = {
        path: requests.get(f"{edge['https']}{path}", headers=upgrade, timeout=5).json()["headers"]
        for path in ("/", "/api/readyz", "/dashboard/_stcore/stream")
    }
    assert seen["/dashboard/_stcore/stream"].get("Upgrade") == "websocket"
    assert seen["/dashboard/_stcore/stream"].get("Connection") == "upgrade"
    for path in ("/", "/api/readyz"):
        assert "Upgrade" not in seen[path], path
        assert seen[path].get("Connection", "").lower() != "upgrade", path


def test_unknown_host_and_oversized_body_are_refused(edge: dict[str, str]) -> None:
    other = requests.get(f"{edge['https']}/", headers={"Host": "attacker.example"}, timeout=5)
    assert other.status_code == 421
    small = requests.post(f"{edge['https']}/api/predict", data=b"x" * 1024, timeout=10)
    assert small.status_code == 200
    big = requests.post(
        f"{edge['https']}/api/predict", data=b"x" * ((MAX_BODY_MB + 1) << 20), timeout=30
    )
    assert big.status_code == 413


@pytest.mark.parametrize(
    ("flag", "accepted"),
    [("-tls1", False), ("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)],
)
def test_only_tls_1_2_and_1_3_are_accepted(edge: dict[str, str], flag: str, accepted: bool) -> None:
    # SECLEVEL=0 lets this OpenSSL offer the old protocols, so a refusal is the server's
    cipher = [] if flag == "-tls1_3" else ["-cipher", "DEFAULT@SECLEVEL=0"]
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{edge['port']}", "-servername",
         SERVER_NAME, "-CAfile", edge["ca"], "-verify_return_error", flag, *cipher],
        input=b"", capture_output=True, timeout=15, check=False,
    )  # fmt: skip
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    if accepted:
        assert proc.returncode == 0 and "Verify return code: 0 (ok)" in out, out
    else:
        assert proc.returncode != 0, out
        assert "alert protocol version" in out or "unsupported protocol" in out, out
        assert "no protocols available" not in out, out


def test_a_bad_setting_stops_the_render_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "nginx.conf"
    proc = subprocess.run(
        [sys.executable, str(EDGE / "render.py"), str(out)],
        env={**os.environ, "CHURN_EDGE_SERVER_NAME": "x; return 200 pwned"},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "churn-edge: CHURN_EDGE_SERVER_NAME='x; return 200 pwned': not a host name"
    ]
    assert not out.exists()
