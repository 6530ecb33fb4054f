"""gunicorn settings for the Flask UI (production serving; `make flask`): the port and the
worker counts come from `churn.settings` (`FLASK_PORT`, `CHURN_UI_WORKERS`, `CHURN_UI_THREADS`)."""

import os

from churn.settings import load_settings

_settings = load_settings()
bind = f"127.0.0.1:{_settings.flask_port}"
workers = _settings.ui.workers
threads = _settings.ui.threads
timeout = 60
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = "info"


def child_exit(server, worker):
    """Drop a dead worker's Prometheus files (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # prometheus_client's own variable
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
