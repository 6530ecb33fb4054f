"""docker/postgres-entrypoint.sh, the compose stack's PostgreSQL start-up, run for real with
Debian's `postgresql` binaries (the ones docker/postgres.Dockerfile installs) on a loopback port:
the first start creates the owner (migration) role, the part roles and the database, each role
signs in only with its password (scram-sha-256, from its file), the superuser is refused over TCP,
and a second start reuses the data folder with a rotated password."""

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


ROLES = ("churn", "churn_service", "churn_ui", "churn_monitor", "churn_features")


def write_passwords(root: Path, suffix: str = "") -> dict[str, str]:
    """One file per role, 0400 and the server user's, as compose-up writes them."""
    folder = root / "passwords"
    folder.mkdir(exist_ok=True)
    passwords = {role: f"pw-{role}-{suffix}" for role in ROLES}
    for role, password in passwords.items():
        path = folder / role
        if path.exists():
            path.chmod(0o600)
        path.write_text(password)
        path.chmod(0o400)
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
    return passwords


def start(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        "PATH": f"{_bindir()}:/usr/bin:/bin",
        "PGDATA": str(root / "data"),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGSOCKETDIR": str(root),
        "CHURN_DB_USER": "churn",
        "CHURN_DB_NAME": "churn",
        "CHURN_DB_PASSWORDS_DIR": str(root / "passwords"),
        "CHURN_FEATURE_DB": "churn_features",
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


def refused(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with pytest.raises(sa.exc.OperationalError) as failed, engine.connect():
            pass
    finally:
        engine.dispose()
    return str(failed.value.orig)


def test_roles_sign_in_only_with_their_password_and_a_restart_keeps_the_data(
    pg_root: Path,
) -> None:
    port = free_port()
    passwords = write_passwords(pg_root, "one")
    url = f"postgresql://churn:{passwords['churn']}@127.0.0.1:{port}/churn"
    proc = start(pg_root, port)
    try:
        engine = wait_ready(proc, url, pg_root)
        with engine.begin() as conn:
            who = conn.execute(sa.text("SELECT current_user, current_database()")).one()
            assert tuple(who) == ("churn", "churn")
            conn.execute(sa.text("CREATE TABLE kept (n int)"))
            conn.execute(sa.text("INSERT INTO kept VALUES (7)"))
        engine.dispose()
        assert "password authentication failed" in refused(
            f"postgresql://churn:wrong@127.0.0.1:{port}/churn"
        )
        assert "password" in refused(f"postgresql://churn@127.0.0.1:{port}/churn")
        assert "rejects connection" in refused(f"postgresql://postgres@127.0.0.1:{port}/churn")
        ui = sa.create_engine(
            f"postgresql://churn_ui:{passwords['churn_ui']}@127.0.0.1:{port}/churn"
        )
        with ui.connect() as conn:
            assert conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = "
                                        "current_user")).scalar_one() is False  # fmt: skip
        ui.dispose()
        # the feature database: its owner creates tables there (Feast); no part role gets in,
        # and the feature role does not get into the churn database
        features = sa.create_engine(
            f"postgresql://churn_features:{passwords['churn_features']}@127.0.0.1:{port}"
            "/churn_features"
        )
        with features.begin() as conn:
            conn.execute(sa.text("CREATE TABLE customer_features (id text)"))
        features.dispose()
        for url in (
            f"postgresql://churn_ui:{passwords['churn_ui']}@127.0.0.1:{port}/churn_features",
            f"postgresql://churn_features:{passwords['churn_features']}@127.0.0.1:{port}/churn",
        ):
            assert "permission denied for database" in refused(url), url
    finally:
        stop(proc, pg_root)
    assert (pg_root / "data/PG_VERSION").is_file()

    rotated = write_passwords(pg_root, "two")
    proc = start(pg_root, port)
    try:
        url = f"postgresql://churn:{rotated['churn']}@127.0.0.1:{port}/churn"
        engine = wait_ready(proc, url, pg_root)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT n FROM kept")).scalar_one() == 7
        engine.dispose()
        assert "password authentication failed" in refused(
            f"postgresql://churn:{passwords['churn']}@127.0.0.1:{port}/churn"
        )
    finally:
        stop(proc, pg_root)


def test_a_missing_password_file_stops_the_start_with_one_line(pg_root: Path) -> None:
    write_passwords(pg_root)
    (pg_root / "passwords" / "churn_ui").unlink()
    proc = start(pg_root, free_port())
    assert proc.wait(timeout=60) == 1
    assert "no password file" in (pg_root / "log").read_text()
    assert not (pg_root / "data").exists()
