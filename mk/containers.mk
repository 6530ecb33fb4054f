# Containers (docs/containers.md): images, docker-compose stack, container smoke test, certificates.
# The Bento image comes from `bentoml containerize` (needs a built Bento: `make bento`), plus the
# health-check layer in docker/bento/Dockerfile. Other images build from docker/*.Dockerfile with the
# repository root as context.

CERTS_DIR ?= deploy/edge/certs
EDGE_SERVER_NAME ?= $(or $(CHURN_EDGE_SERVER_NAME),localhost)

.PHONY: certs container-test container-requirements images base-image bento-image frontend-images compose-config compose-up compose-down

DOCKER ?= docker
# project name on the command line (a top-level `name:` would break Compose v1's `config`)
COMPOSE ?= $(shell $(DOCKER) compose version >/dev/null 2>&1 && echo "$(DOCKER) compose" || echo docker-compose) -p churn
BENTO_TAG ?= churn_service:latest
IMAGE_TAG ?= latest
BASE_IMAGE ?= python:3.11-slim-bookworm
DOCKER_BUILD_FLAGS ?=
# The compose stack builds on this locally made Debian image (docker/base/build_base.sh), so nothing
# but the Bento's own base comes from a public registry.
LOCAL_BASE_IMAGE ?= churn-base:bookworm

certs: ## a local CA and the edge's server certificate in deploy/edge/certs (git-ignored; openssl)
	bash deploy/edge/make_certs.sh $(CERTS_DIR) $(EDGE_SERVER_NAME)

container-test: venv ## build the service, Flask and dashboard images and check them running (private dockerd)
	PY=$(PY) bash scripts/container_test.sh

container-requirements: venv ## re-cut docker/requirements/*.txt (pinned, hashed) from uv.lock
	$(PY) docker/pin_requirements.py

bento-image: venv ## churn-service:$(IMAGE_TAG) from the Bento $(BENTO_TAG) (bentoml containerize + health check)
	$(VENV)/bin/bentoml containerize $(BENTO_TAG) -t churn-service:bento-$(IMAGE_TAG)
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -f docker/bento/Dockerfile \
		--build-arg BENTO_IMAGE=churn-service:bento-$(IMAGE_TAG) -t churn-service:$(IMAGE_TAG) docker

# docker/NAME.Dockerfile -> image; every image a deploy/ manifest or docker-compose.yml names is here
# or churn-service (tests/stacks/test_deploy_wiring.py parses this list).
FRONTEND_IMAGES = flask:churn-flask streamlit:churn-dashboard mlflow:churn-mlflow \
	monitor:churn-monitor observability:churn-observability postgres:churn-postgres redis:churn-redis \
	edge:churn-edge

frontend-images: ## churn-flask, -dashboard, -mlflow, -monitor, -observability, -postgres, -redis and -edge images
	for img in $(FRONTEND_IMAGES); do \
		$(DOCKER) build $(DOCKER_BUILD_FLAGS) --build-arg BASE_IMAGE=$(BASE_IMAGE) \
			-f docker/$${img%%:*}.Dockerfile -t $${img#*:}:$(IMAGE_TAG) . || exit 1; \
	done

images: bento-image frontend-images ## every image of the compose stack

base-image: ## the local base image (default churn-base:bookworm): Debian bookworm + Python 3.11 by debootstrap (needs root), for the compose stack
	bash docker/base/build_base.sh $(LOCAL_BASE_IMAGE)

# monitoring/secrets/ (`churn monitoring-auth`): the monitoring servers' web configs and passwords
# (docs/monitoring.md, "Locked monitoring"); deploy/local/secrets/: every container's own secret
# files (deploy/compose_secrets.py). compose-up writes both; no secret passes through make.
MONITORING_SECRETS = monitoring/secrets

compose-config: ## print the resolved docker-compose.yml
	$(COMPOSE) config

# Offline like container-test: local base, legacy builder, a private engine when none answers
# (deploy/compose_up.sh). Makes the secrets (each container's own, 0400), migrates once with the
# migration role, creates the first UI admin once and prints the URLs.
compose-up: venv ## start the prod-like stack behind the TLS edge (https://localhost:8443), wait for health, first admin
	PY=$(PY) COMPOSE="$(COMPOSE)" LOCAL_BASE_IMAGE=$(LOCAL_BASE_IMAGE) MONITORING_SECRETS=$(MONITORING_SECRETS) \
		bash deploy/compose_up.sh
	@echo "Grafana admin password, Prometheus/Alertmanager/Pushgateway basic auth (user churn): $(MONITORING_SECRETS)/*.password (root)"

compose-down: ## stop the local stack (VOLUMES=1 also drops its named volumes) and the engine compose-up started
	@set -a; [ ! -s deploy/local/engine.env ] || . deploy/local/engine.env; set +a; \
	$(COMPOSE) down $(if $(VOLUMES),--volumes,); \
	if [ -n "$${ENGINE_DIR:-}" ]; then \
		. docker/engine.sh && engine_stop "$$ENGINE_DIR" && rm -f deploy/local/engine.env; fi
