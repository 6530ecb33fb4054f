# MLflow tracking server (docker-compose's `mlflow`): SQLite backend and served artifacts under
# /mlflow (a named volume). HOST/MLFLOW_PORT choose the bind address (default 0.0.0.0:5000). One
# uvicorn worker and no job runner (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false): MLflow 3 otherwise
# starts a huey job runner and consumers beside it, which passed the 1 GiB compose limit at once.
#   docker build -f docker/mlflow.Dockerfile -t churn-mlflow .
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY docker/requirements/mlflow.txt /tmp/requirements.txt
# Every pin and hash comes from uv.lock (docker/pin_requirements.py); --no-deps: nothing unlisted.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.txt \
 && /opt/venv/bin/pip check \
 && (/opt/venv/bin/pip uninstall -y pip >/dev/null 2>&1 || true)

FROM ${BASE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 churn \
 && useradd --system --uid 10001 --gid churn --create-home --home-dir /home/churn \
      --shell /usr/sbin/nologin churn \
 && mkdir -p /mlflow/artifacts && chown -R churn:churn /mlflow
COPY --from=build /opt/venv /opt/venv
COPY docker/healthcheck.py /usr/local/bin/churn-healthcheck
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    MLFLOW_PORT=5000 \
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
    MLFLOW_ALLOWED_HOSTS=localhost,localhost:5000,127.0.0.1,127.0.0.1:5000,mlflow,mlflow:5000
USER churn
WORKDIR /mlflow
VOLUME ["/mlflow"]
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "/usr/local/bin/churn-healthcheck", "/health", "--port-env", "MLFLOW_PORT", "--default-port", "5000"]
CMD ["sh", "-c", "exec mlflow server --host \"${HOST}\" --port \"${MLFLOW_PORT}\" --workers 1 --backend-store-uri sqlite:////mlflow/mlflow.db --artifacts-destination /mlflow/artifacts --serve-artifacts --allowed-hosts \"${MLFLOW_ALLOWED_HOSTS}\""]
