# Prometheus, the Pushgateway and Alertmanager from Debian's packages (the same ones the tests start),
# on the project's base image: one image, three commands. Nothing comes from a public image registry.
#   docker build -f docker/observability.Dockerfile -t churn-observability .
#   docker run churn-observability prometheus-pushgateway --web.listen-address=:9091
#   docker run churn-observability prometheus-alertmanager --config.file=/etc/alertmanager/alertmanager.yml
#   docker run churn-observability prometheus --config.file=/etc/prometheus/prometheus.yml
# BASE_IMAGE must be a Debian bookworm image with Python 3 (for the health-check helper).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      prometheus prometheus-pushgateway prometheus-alertmanager \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/churn-observability && chown prometheus:prometheus /var/lib/churn-observability
COPY docker/healthcheck.py /usr/local/bin/churn-healthcheck
WORKDIR /var/lib/churn-observability
# The Debian packages' own system user; their data directories are volumes.
USER prometheus
# Each container names its command; the check follows its port (OBS_PORT, default 9091).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python3", "/usr/local/bin/churn-healthcheck", "/-/ready", "--port-env", "OBS_PORT", "--default-port", "9091"]
CMD ["prometheus-pushgateway", "--web.listen-address=:9091"]
