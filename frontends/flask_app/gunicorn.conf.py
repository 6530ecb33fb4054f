"""gunicorn settings for the Flask UI (production serving; `make flask`)."""

import os

bind = f"127.0.0.1:{os.environ.get('FLASK_PORT', '5001')}"
workers = int(os.environ.get("CHURN_UI_WORKERS", "2"))
threads = int(os.environ.get("CHURN_UI_THREADS", "4"))
timeout = 60
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = "info"


def child_exit(server, worker):
    """Drop a dead worker's Prometheus files (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
