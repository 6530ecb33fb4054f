# The Streamlit dashboard (frontends/streamlit_app).
#   docker build -f docker/streamlit.Dockerfile -t churn-dashboard .
#   docker run -e CHURN_SERVICE_URL=http://churn-service:3000 -p 8501:8501 churn-dashboard
# HOST/STREAMLIT_PORT choose the bind address (default 0.0.0.0:8501). BASE_IMAGE must be a Debian
# image with Python 3.11 (the smoke test swaps in its locally made one).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY docker/requirements/streamlit.txt /tmp/requirements.txt
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
COPY frontends/__init__.py ./frontends/__init__.py
COPY frontends/common/ ./frontends/common/
COPY frontends/streamlit_app/ ./frontends/streamlit_app/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    STREAMLIT_PORT=8501 \
    CHURN_SERVICE_URL=http://churn-service:3000 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none
USER churn
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "/usr/local/bin/churn-healthcheck", "/_stcore/health", "--port-env", "STREAMLIT_PORT", "--default-port", "8501"]
# st.login's [auth] section from the CHURN_OIDC_* settings (empty with local accounts only), in a
# mode-600 file under /tmp (a tmpfs where deployed), then Streamlit reading it
ENV DASHBOARD_AUTH_FILE=/tmp/churn-streamlit/secrets.toml
CMD ["sh", "-c", "python3 -m frontends.streamlit_app.auth_secrets \"$DASHBOARD_AUTH_FILE\" && exec streamlit run frontends/streamlit_app/Home.py --server.address \"${HOST}\" --server.port \"${STREAMLIT_PORT}\" --secrets.files \"$DASHBOARD_AUTH_FILE\""]
