# The TLS edge of the compose stack: Debian's nginx on the project's base image, with the shipped
# deploy/edge configuration (the one tests/edge starts). Nothing comes from a public image registry.
#   docker build -f docker/edge.Dockerfile -t churn-edge .
#   docker run --network host -v $PWD/deploy/edge/certs:/etc/churn-edge/certs:ro \
#     --group-add "$(stat -c %g deploy/edge/certs/server.key)" churn-edge
# Settings (deploy/edge/render.py): CHURN_EDGE_SERVER_NAME, CHURN_EDGE_ADDR, CHURN_HTTP_PORT,
# CHURN_HTTPS_PORT, CHURN_EDGE_{SERVICE,FLASK,DASHBOARD,GRAFANA} upstreams, CHURN_EDGE_CERT/_KEY.
# Runs as www-data (ports above 1024); the key is read through its group (`make certs` makes it 640).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/nginx/sites-enabled/default \
 && mkdir -p /etc/churn-edge/certs /tmp/churn-edge \
 && chown www-data:www-data /tmp/churn-edge
COPY docker/healthcheck.py /usr/local/bin/churn-healthcheck
COPY deploy/edge/nginx.conf.template deploy/edge/render.py /etc/churn-edge/
ENV HOST=127.0.0.1 \
    CHURN_EDGE_RUN_DIR=/tmp/churn-edge \
    CHURN_EDGE_HEALTH_PORT=8442
USER www-data
EXPOSE 8080 8443
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python3", "/usr/local/bin/churn-healthcheck", "/healthz", "--port-env", "CHURN_EDGE_HEALTH_PORT", "--default-port", "8442"]
CMD ["python3", "/etc/churn-edge/render.py", "/tmp/churn-edge/nginx.conf", "--exec"]
