# Containers (docs/containers.md): images, docker-compose stack, container smoke test.
# The Bento image comes from `bentoml containerize` (needs a built Bento: `make bento`), plus the
# health-check layer in docker/bento/Dockerfile. Other images build from docker/*.Dockerfile with the
# repository root as context.

.PHONY: container-test container-requirements images bento-image frontend-images compose-config compose-up compose-down

DOCKER ?= docker
# project name on the command line (a top-level `name:` would break Compose v1's `config`)
COMPOSE ?= $(shell $(DOCKER) compose version >/dev/null 2>&1 && echo "$(DOCKER) compose" || echo docker-compose) -p churn
BENTO_TAG ?= churn_service:latest
IMAGE_TAG ?= latest
BASE_IMAGE ?= python:3.11-slim-bookworm
DOCKER_BUILD_FLAGS ?=

container-test: venv ## build the service, Flask and dashboard images and check them running (private dockerd)
	PY=$(PY) bash scripts/container_test.sh

container-requirements: venv ## re-cut docker/requirements/*.txt (pinned, hashed) from uv.lock
	$(PY) docker/pin_requirements.py

bento-image: venv ## churn-service:$(IMAGE_TAG) from the Bento $(BENTO_TAG) (bentoml containerize + health check)
	$(VENV)/bin/bentoml containerize $(BENTO_TAG) -t churn-service:bento-$(IMAGE_TAG)
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -f docker/bento/Dockerfile \
		--build-arg BENTO_IMAGE=churn-service:bento-$(IMAGE_TAG) -t churn-service:$(IMAGE_TAG) docker

frontend-images: ## churn-flask, churn-dashboard and churn-mlflow images
	for img in flask:churn-flask streamlit:churn-dashboard mlflow:churn-mlflow; do \
		$(DOCKER) build $(DOCKER_BUILD_FLAGS) --build-arg BASE_IMAGE=$(BASE_IMAGE) \
			-f docker/$${img%%:*}.Dockerfile -t $${img#*:}:$(IMAGE_TAG) . || exit 1; \
	done

images: bento-image frontend-images ## every image of the compose stack

compose-config: ## print the resolved docker-compose.yml
	FLASK_SECRET_KEY=$${FLASK_SECRET_KEY:-unset} $(COMPOSE) config

compose-up: bento-image ## start the local stack (service, Flask, dashboard, MLflow, Prometheus, Grafana) and wait for health
	FLASK_SECRET_KEY=$${FLASK_SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_hex(32))')} \
		$(COMPOSE) up -d --build --wait

compose-down: ## stop the local stack (VOLUMES=1 also drops its named volumes)
	FLASK_SECRET_KEY=$${FLASK_SECRET_KEY:-unset} $(COMPOSE) down $(if $(VOLUMES),--volumes,)
