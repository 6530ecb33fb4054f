# The Flask ops UI (frontends/flask_app) under gunicorn.
#   docker build -f docker/flask.Dockerfile -t churn-flask .
#   docker run -e FLASK_SECRET_KEY=... -e CHURN_SERVICE_URL=http://churn-service:3000 -p 5001:5001 churn-flask
# HOST/FLASK_PORT choose the bind address (default 0.0.0.0:5001). BASE_IMAGE must be a Debian
# image with Python 3.11 (the smoke test swaps in its locally made one).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY docker/requirements/flask.txt /tmp/requirements.txt
# Every pin and hash comes from uv.lock (docker/pin_requirements.py); --no-deps: nothing unlisted.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.txt \
 && /opt/venv/bin/pip check \
 && (/opt/venv/bin/pip uninstall -y pip setuptools >/dev/null 2>&1 || true)

FROM ${BASE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 churn \
 && useradd --system --uid 10001 --gid churn --create-home --home-dir /home/churn \
      --shell /usr/sbin/nologin churn
COPY --from=build /opt/venv /opt/venv
COPY docker/healthcheck.py /usr/local/bin/churn-healthcheck
WORKDIR /app
COPY churn/ ./churn/
COPY frontends/__init__.py ./frontends/__init__.py
COPY frontends/common/ ./frontends/common/
COPY frontends/flask_app/ ./frontends/flask_app/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    FLASK_PORT=5001 \
    CHURN_SERVICE_URL=http://churn-service:3000 \
    CHURN_UI_BATCH_DIR=/tmp/churn-ui
USER churn
EXPOSE 5001
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python3", "/usr/local/bin/churn-healthcheck", "/healthz", "--port-env", "FLASK_PORT", "--default-port", "5001"]
# The command line's --bind wins over gunicorn.conf.py's loopback default.
CMD ["sh", "-c", "exec gunicorn -c frontends/flask_app/gunicorn.conf.py --bind \"${HOST}:${FLASK_PORT}\" frontends.flask_app.wsgi:app"]
