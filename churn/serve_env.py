"""The checkout's settings, handed to a Bento that `make serve` starts from the BentoML store.

BentoML imports a stored Bento from inside its own copy (it changes into the Bento's `src/`), where
neither the checkout's `.env` nor its `data/` folder is. Without this, the service would read no
`.env` and open a project database of its own inside the store, so the token `make run` wrote
would be unknown to it. `make serve` evaluates this module's output before `bentoml serve`, so
the service, the CLI, the frontends and Locust share one project database by default.

Usage: eval "$(python -m churn.serve_env)"   # prints `export CHURN_...=...` lines
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from dotenv import dotenv_values

from churn.db.migrate import DatabaseLocationError
from churn.paths import REPO_ROOT
from churn.settings import Settings

SECRET_FOR_CLIENTS = "CHURN_API_TOKEN"
"""The clients' token stays out of the server's environment: the server checks digests."""


def serve_environment(env_file: Path = Path(".env")) -> dict[str, str]:
    """`CHURN_*` values of `.env` that the environment does not already set, and the database."""
    values = {
        key: value
        for key, value in dotenv_values(env_file).items()
        if key.startswith("CHURN_")
        and key != SECRET_FOR_CLIENTS
        and value is not None
        and key not in os.environ
    }
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    values["CHURN_PREDICTION_DB"] = settings.prediction_db
    values["CHURN_FEATURE_DIR"] = str(settings.feature_dir.resolve())  # the checkout's store
    return values


def require_database_setting(settings: Settings, root: Path = REPO_ROOT) -> None:
    """Refuse a Bento copy that was not told its database: it would make one inside the store."""
    if (root.parent / "bento.yaml").is_file() and "prediction_db" not in settings.model_fields_set:
        raise DatabaseLocationError(
            "CHURN_PREDICTION_DB is not set: this service runs from a Bento in the BentoML store "
            f"({root.parent}), which holds no project database. Set CHURN_PREDICTION_DB "
            "(`make serve` passes the checkout's; containers and Kubernetes set their own)."
        )


def main() -> int:
    for key, value in sorted(serve_environment().items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
