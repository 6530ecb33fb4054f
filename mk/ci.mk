# CI/CD stages: every `run:` step of .github/workflows/ml-pipeline.yml is one of these targets (or
# another target of this Makefile), so the workflow runs what is tested here (tests/stacks/
# test_ci_workflow.py dry-runs each step with `make -n`). The deploy targets need kubectl and
# kustomize (GitHub's runners have both) and a kubeconfig (`make kubeconfig`).
DRIFT_SUMMARY ?= $(REPORTS)/drift_summary.json
EVENT ?= push
FORCE ?= false
BENTO_ARCHIVE ?= $(CURDIR)/tmp/churn_service.bento
KUBECONFIG_FILE ?= $(CURDIR)/tmp/kubeconfig
REGISTRY_IMAGE ?= ghcr.io/example/churn-service
# the other images go next to the service's: IMAGE_REGISTRY/<name>:<12 characters of GIT_SHA>
IMAGE_REGISTRY ?= $(patsubst %/,%,$(dir $(REGISTRY_IMAGE)))
GIT_SHA ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# Every image a deploy/ manifest names besides churn-service (tests/stacks/test_deploy_wiring.py
# compares this list with the rendered overlays): built by `frontend-images`, pushed by
# `images-push` and set in the overlays by the deploy targets, next to the service's IMAGE.
PUSHED_IMAGES = churn-flask churn-dashboard churn-monitor churn-observability
PUSH_REGISTRY = $(shell echo $(IMAGE_REGISTRY) | tr '[:upper:]' '[:lower:]')
PUSH_TAG = $(shell echo $(GIT_SHA) | cut -c1-12)
# `kustomize edit set image` arguments for the PUSHED_IMAGES
SET_PUSHED = $(foreach img,$(PUSHED_IMAGES),$(img)=$(PUSH_REGISTRY)/$(img):$(PUSH_TAG))
NAMESPACE ?= churn
STAGING_NAMESPACE ?= churn-staging
FORWARD_PORT ?= 3100
KUBECTL ?= kubectl
KUSTOMIZE ?= kustomize

.PHONY: security-lint data-pull validate drift-check retrain-decision bento-export bento-import \
	image-name image-push manifest-images images-push kubeconfig deploy-staging promotion-decision \
	production-bento cluster-secrets ci-local staging-check deploy-idle idle-check \
	switch-color production-check

security-lint: venv ## bandit over the shipped code
	$(VENV)/bin/bandit -q -r churn steps pipelines bentos frontends -ll

data-pull: venv ## the data from the DVC remote (AWS_* credentials), else reproduced (dvc repro)
	@if [ -n "$$AWS_ACCESS_KEY_ID" ] && [ -n "$$AWS_SECRET_ACCESS_KEY" ]; then \
		$(VENV)/bin/dvc pull --quiet || $(VENV)/bin/dvc repro --quiet; \
	else echo ">> no DVC remote credentials: reproducing the data"; $(VENV)/bin/dvc repro --quiet; fi

validate: venv ## check DATA against the schema; bad rows stop here, before any training
	$(CHURN) validate $(DATA)

drift-check: venv ## drift of live traffic vs production, written to DRIFT_SUMMARY (JSON)
	$(CHURN) monitor --config $(MONITOR_CONFIG) --summary-out $(DRIFT_SUMMARY)

retrain-decision: venv ## retrain=true|false from DRIFT_SUMMARY, EVENT and FORCE (to $GITHUB_OUTPUT)
	$(PY) scripts/retrain_decision.py --summary $(DRIFT_SUMMARY) --event $(EVENT) --force $(FORCE)

promotion-decision: venv ## CI: the newest model version's promotion decision (JSON, also to $GITHUB_OUTPUT)
	$(PY) scripts/ci_model.py decision

production-bento: venv ## CI: the server's production model into the BentoML store and a Bento (model_version to $GITHUB_OUTPUT)
	$(PY) scripts/ci_model.py bento

bento-export: venv ## the latest Bento to BENTO_ARCHIVE, for the image job
	@mkdir -p $(dir $(BENTO_ARCHIVE))
	$(BENTOML) export churn_service:latest $(BENTO_ARCHIVE)

bento-import: venv ## the Bento exported by bento-export, from BENTO_ARCHIVE
	$(BENTOML) import $(BENTO_ARCHIVE)

image-name: ## image=REGISTRY_IMAGE:<12 characters of GIT_SHA>, also to $GITHUB_OUTPUT
	@echo "image=$$(echo $(REGISTRY_IMAGE) | tr '[:upper:]' '[:lower:]'):$$(echo $(GIT_SHA) | cut -c1-12)" \
		| tee -a $${GITHUB_OUTPUT:-/dev/null}

image-push: ## tag churn-service:IMAGE_TAG as IMAGE and push it (after make bento-image)
	@test -n "$(IMAGE)" || { echo "IMAGE is empty: make image-push IMAGE=registry/name:tag"; exit 1; }
	$(DOCKER) tag churn-service:$(IMAGE_TAG) $(IMAGE)
	$(DOCKER) push $(IMAGE)

manifest-images: ## build the PUSHED_IMAGES (docker/*.Dockerfile, `frontend-images` restricted to them)
	$(MAKE) frontend-images FRONTEND_IMAGES="$(filter $(addprefix %:,$(PUSHED_IMAGES)),$(FRONTEND_IMAGES))"

images-push: ## tag each of PUSHED_IMAGES (:IMAGE_TAG) as IMAGE_REGISTRY/<name>:<sha12> and push it
	@test -n "$(PUSH_REGISTRY)" || { echo "IMAGE_REGISTRY is empty"; exit 1; }
	for img in $(PUSHED_IMAGES); do \
		$(DOCKER) tag $$img:$(IMAGE_TAG) $(PUSH_REGISTRY)/$$img:$(PUSH_TAG) && \
		$(DOCKER) push $(PUSH_REGISTRY)/$$img:$(PUSH_TAG) || exit 1; \
	done

kubeconfig: ## write the base64 kubeconfig in $KUBECONFIG_B64 to KUBECONFIG_FILE (mode 600)
	@test -n "$$KUBECONFIG_B64" || { echo "KUBECONFIG_B64 is empty"; exit 1; }
	@mkdir -p $(dir $(KUBECONFIG_FILE))
	@umask 077 && echo "$$KUBECONFIG_B64" | base64 -d > $(KUBECONFIG_FILE)
	@echo "KUBECONFIG=$(KUBECONFIG_FILE)" | tee -a $${GITHUB_ENV:-/dev/null}

deploy-staging: ## the staging overlay with IMAGE (and the PUSHED_IMAGES of GIT_SHA), applied; waits for the rollout
	@test -n "$(IMAGE)" || { echo "IMAGE is empty"; exit 1; }
	cd deploy/overlays/staging && $(KUSTOMIZE) edit set image "churn-service=$(IMAGE)" $(SET_PUSHED)
	$(if $(MODEL_VERSION),cd deploy/overlays/staging && $(KUSTOMIZE) edit add annotation --force churn.io/model-version:$(MODEL_VERSION))
	KUBECONFIG=$(KUBECONFIG_FILE) $(KUBECTL) apply -k deploy/overlays/staging
	KUBECONFIG=$(KUBECONFIG_FILE) $(KUBECTL) -n $(STAGING_NAMESPACE) rollout status \
		deployment/churn-service --timeout 300s

# Keys of churn-secrets (deploy/external.yaml) set from the same values CI uses, so the cluster and
# CI share one ZenML server and one database: the ZenML keys (the monitoring CronJob) and
# prediction-db-url (the owner's URL: the migrate Job only; each other part reads its own role's key).
cluster-secrets: ## churn-secrets in NAMESPACE gets zenml-store-url, zenml-api-key, prediction-db-url from CI's environment
	@for v in ZENML_STORE_URL ZENML_STORE_API_KEY CHURN_PREDICTION_DB; do \
		test -n "$${!v}" || { echo "cluster-secrets: $$v is empty"; exit 1; }; done
	KUBECONFIG=$(KUBECONFIG_FILE) $(KUBECTL) -n $(NAMESPACE) patch secret churn-secrets --type merge -p \
		"{\"stringData\": {\"zenml-store-url\": \"$$ZENML_STORE_URL\", \"zenml-api-key\": \"$$ZENML_STORE_API_KEY\", \"prediction-db-url\": \"$$CHURN_PREDICTION_DB\"}}"

# scripts/port_forward.sh maps a service to 127.0.0.1:FORWARD_PORT while its command runs.
FORWARD = KUBECONFIG=$(KUBECONFIG_FILE) KUBECTL=$(KUBECTL) bash scripts/port_forward.sh
FORWARDED_URL = http://127.0.0.1:$(FORWARD_PORT)

staging-check: venv ## staging answers: readiness, model info, then a short bounded load test
	$(FORWARD) $(STAGING_NAMESPACE) churn-service $(FORWARD_PORT) -- \
		curl -fsS $(FORWARDED_URL)/model_info
	$(FORWARD) $(STAGING_NAMESPACE) churn-service $(FORWARD_PORT) -- \
		make load-test CHURN_SERVICE_URL=$(FORWARDED_URL) LOAD_USERS=4 LOAD_DURATION=20s

deploy-idle: ## blue-green: IMAGE to the idle color only (PUSHED_IMAGES of GIT_SHA to both); colors to $GITHUB_OUTPUT
	@test -n "$(IMAGE)" || { echo "IMAGE is empty"; exit 1; }
	cd deploy/overlays/production && $(KUSTOMIZE) edit set image $(SET_PUSHED)
	KUBECONFIG=$(KUBECONFIG_FILE) NAMESPACE=$(NAMESPACE) IMAGE=$(IMAGE) bash deploy/deploy_idle.sh

idle-check: ## readiness and model info of the idle color (preview service churn-service-COLOR)
	@test -n "$(COLOR)" || { echo "COLOR is empty"; exit 1; }
	$(FORWARD) $(NAMESPACE) churn-service-$(COLOR) $(FORWARD_PORT) -- \
		curl -fsS $(FORWARDED_URL)/model_info

switch-color: ## send production traffic to COLOR (blue|green); switching back is the rollback
	@test -n "$(COLOR)" || { echo "COLOR is empty"; exit 1; }
	KUBECONFIG=$(KUBECONFIG_FILE) NAMESPACE=$(NAMESPACE) bash deploy/switch.sh $(COLOR)

production-check: venv ## production answers, and a load baseline (LOAD_USERS, LOAD_DURATION)
	$(FORWARD) $(NAMESPACE) churn-service $(FORWARD_PORT) -- \
		make load-test CHURN_SERVICE_URL=$(FORWARDED_URL) LOAD_USERS=$(LOAD_USERS) \
		LOAD_DURATION=$(LOAD_DURATION)

ci-local: venv ## the workflow run here end to end: fresh staging servers (5050, 8237), four runs (tests/ci_local)
	PYTHONPATH=$(CURDIR) $(PY) -m tests.ci_local.scenario --root $(CURDIR)/tmp/ci-local \
		--mlflow-port $(STAGING_MLFLOW_PORT) --zenml-port $(STAGING_ZENML_PORT)
