"""docker/postgres-entrypoint.sh, the compose stack's PostgreSQL start-up, run for real with
Debian's `postgresql` binaries (the ones docker/postgres.Dockerfile installs) on a loopback port:
the first start creates the churn role and database the service's CHURN_PREDICTION_DB names, a
second start reuses the data folder."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fixtures.ports import free_port
from tests.fixtures.postgres import _as_server_user

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker/postgres-entrypoint.sh"

pytestmark = pytest.mark.timeout(240)


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("Debian's postgresql is not installed: bash scripts/install_system_deps.sh")
    return Path(found[-1]).parent


@pytest.fixture
def pg_root() -> Iterator[Path]:
    """A folder the server user owns (postgres refuses to run as root)."""
    root = Path(tempfile.mkdtemp(prefix="churn-pg-entry-"))
    try:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(root, entry.pw_uid, entry.pw_gid)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def start(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        "PATH": f"{_bindir()}:/usr/bin:/bin",
        "PGDATA": str(root / "data"),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGSOCKETDIR": str(root),
        "CHURN_DB_USER": "churn",
        "CHURN_DB_NAME": "churn",
    }
    argv = ["env", *(f"{k}={v}" for k, v in env.items()), "sh", str(SCRIPT)]
    argv = _as_server_user(argv)
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=(root / "log").open("ab"))


def wait_ready(proc: subprocess.Popen[bytes], url: str, root: Path) -> sa.Engine:
    engine = sa.create_engine(url)
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, (root / "log").read_text()
        try:
            with engine.connect():
                return engine
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def stop(proc: subprocess.Popen[bytes], root: Path) -> None:
    """SIGINT (fast shutdown) to the postmaster itself: runuser does not pass it on."""
    pidfile = root / "data/postmaster.pid"
    if pidfile.exists():
        os.kill(int(pidfile.read_text().split()[0]), signal.SIGINT)
    assert proc.wait(timeout=60) == 0, (root / "log").read_text()


def test_first_start_creates_the_churn_database_and_a_restart_keeps_it(pg_root: Path) -> None:
    port = free_port()
    url = f"postgresql://churn@127.0.0.1:{port}/churn"  # as docker-compose.yml writes it
    proc = start(pg_root, port)
    try:
        engine = wait_ready(proc, url, pg_root)
        with engine.begin() as conn:
            who = conn.execute(sa.text("SELECT current_user, current_database()")).one()
            assert tuple(who) == ("churn", "churn")
            conn.execute(sa.text("CREATE TABLE kept (n int)"))
            conn.execute(sa.text("INSERT INTO kept VALUES (7)"))
        engine.dispose()
    finally:
        stop(proc, pg_root)
    assert (pg_root / "data/PG_VERSION").is_file()

    proc = start(pg_root, port)
    try:
        engine = wait_ready(proc, url, pg_root)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT n FROM kept")).scalar_one() == 7
        engine.dispose()
    finally:
        stop(proc, pg_root)
