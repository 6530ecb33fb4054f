# The monitoring job (`churn monitor`: pipelines/monitoring.py) for the Kubernetes CronJob and the
# compose stack. Reads the prediction log (CHURN_PREDICTION_DB, SQLite or PostgreSQL), writes drift
# reports and history.jsonl to CHURN_REPORTS_DIR (a volume the dashboard mounts too) and pushes its
# gauges to CHURN_PUSHGATEWAY_URL.
#   docker build -f docker/monitor.Dockerfile -t churn-monitor .
#   docker run -e CHURN_PREDICTION_DB=postgresql://... churn-monitor
# BASE_IMAGE must be a Debian image with Python 3.11 (compose uses the local churn-base:bookworm).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY docker/requirements/monitor.txt /tmp/requirements.txt
# Every pin and hash comes from uv.lock (docker/pin_requirements.py); --no-deps: nothing unlisted.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.txt \
 && /opt/venv/bin/pip check \
 && (/opt/venv/bin/pip uninstall -y pip setuptools >/dev/null 2>&1 || true)

FROM ${BASE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 churn \
 && useradd --system --uid 10001 --gid churn --create-home --home-dir /home/churn \
      --shell /usr/sbin/nologin churn \
 && mkdir -p /var/lib/churn/reports && chown churn:churn /var/lib/churn/reports
COPY --from=build /opt/venv /opt/venv
COPY docker/healthcheck.py /usr/local/bin/churn-healthcheck
WORKDIR /app
COPY churn/ ./churn/
COPY steps/ ./steps/
COPY pipelines/ ./pipelines/
COPY configs/ ./configs/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ZENML_CONFIG_PATH=/home/churn/.zenml \
    ZENML_ANALYTICS_OPT_IN=false \
    CHURN_REPORTS_DIR=/var/lib/churn/reports
USER churn
# A batch job, not a server: the check only proves the interpreter and the CLI import.
HEALTHCHECK --interval=60s --timeout=10s --retries=1 \
  CMD ["python3", "-c", "import churn.cli"]
# `python -m churn.cli monitor` is the `churn monitor` console script without installing the project.
ENTRYPOINT ["python3", "-m", "churn.cli"]
CMD ["monitor"]
