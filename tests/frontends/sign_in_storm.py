"""Run by test_frontend_sign_in_guard.py in a process of its own (so its peak memory is the
storm's): 200 sign-in tries at once at the Flask app, twice; prints one JSON line.

Usage: python sign_in_storm.py TMP_DIR REPO_ROOT
"""

from __future__ import annotations

import json
import resource
import sys
import threading
from collections.abc import Callable
from pathlib import Path

sys.path[:0] = [sys.argv[2], sys.argv[2] + "/tests/frontends"]

from test_frontend_flask import PASSWORDS, _app  # noqa: E402

from churn.db import sign_in_guard  # noqa: E402

TRIES = 200

app = _app("http://127.0.0.1:9", Path(sys.argv[1]), PROXY_HOPS=1)
assert app.extensions["churn_users"].get("analyst") is not None  # migrated, users made
base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def storm(name: Callable[[int], str], password: str) -> dict[str, int]:
    """TRIES posts released together, each from its own client address; status -> count."""
    answers: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(TRIES)

    def one(i: int) -> None:
        client = app.test_client()
        headers = {"X-Forwarded-For": f"10.{i // 250}.{i % 250}.1"}
        start.wait()
        status = client.post(
            "/login", data={"name": name(i), "password": password}, headers=headers
        ).status_code
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(TRIES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {str(s): answers.count(s) for s in sorted(set(answers))}


against_one = storm(lambda i: "analyst", "not-the-password")
right_password = (
    app.test_client()
    .post(
        "/login",
        data={"name": "analyst", "password": PASSWORDS["analyst"]},
        headers={"X-Forwarded-For": "192.0.2.1"},
    )
    .status_code
)
unknown_names = storm(lambda i: f"nobody-{i}", "not-the-password")
slots = sign_in_guard.check_slots()
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = {
    "against_one": against_one,
    "right_password": right_password,
    "unknown_names": unknown_names,
    "peak_checks": slots.peak,
    "slots": slots.n,
    "rss_growth_mib": (peak_kib - base_kib) / 1024,
}
print(json.dumps(result))
