"""`make run`'s local token (scripts/ensure_local_token.py): created once, mode 600, valid."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from churn.auth import hash_token
from churn.db.tokens import active_hashes

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure_local_token.py"


def _run(cwd: Path, db: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHURN_PREDICTION_DB": db}
    env.pop("CHURN_API_TOKEN", None)
    return subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_creates_an_admin_token_once_in_a_private_env_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'project.db'}"
    (tmp_path / ".env").write_text("CHURN_SERVICE_URL=http://127.0.0.1:3000")  # no newline
    first = _run(tmp_path, db)
    assert first.returncode == 0, first.stderr
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = env_file.read_text().splitlines()
    assert lines[0] == "CHURN_SERVICE_URL=http://127.0.0.1:3000"
    token = lines[1].removeprefix("CHURN_API_TOKEN=")
    engine = sa.create_engine(db)
    assert active_hashes(engine) == {hash_token(token): "admin"}

    again = _run(tmp_path, db)
    assert again.returncode == 0 and "keeping it" in again.stdout
    assert env_file.read_text().splitlines() == lines
    assert len(active_hashes(engine)) == 1
    engine.dispose()
