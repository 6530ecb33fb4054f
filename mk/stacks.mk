# ZenML stacks per environment (stacks/*.yaml) and the staging services. Owned by the stacks part.
# CHURN, PY and VENV come from the root Makefile.
STAGING_DIR ?= $(CURDIR)/tmp/staging
STAGING_MLFLOW_PORT ?= 5050
STAGING_ZENML_PORT ?= 8237
ZENML_GLOBAL_CONFIG = $${ZENML_CONFIG_PATH:-$$HOME/.config/zenml}
export ZENML_ANALYTICS_OPT_IN ?= false
export ZENML_AUTO_OPEN_DASHBOARD ?= false

.PHONY: stack-local stack-ci stack-staging stack-kubernetes stack-check staging-up staging-down staging-status

stack-local: venv ## ZenML stack churn-local: zenml init if needed, create-or-update, activate
	$(CHURN) stack apply local

# CI (the workflow's model jobs): the team's stack on the server ZENML_STORE_URL / ZENML_STORE_API_KEY
# name; a runner's local stack would start from nothing every run, so `local` is refused here.
STACK ?=
stack-ci: venv ## CI: apply STACK (staging|kubernetes) on the team's ZenML server (ZENML_STORE_URL)
	@case "$(STACK)" in staging|kubernetes) ;; \
		*) echo "stack-ci: STACK must be staging or kubernetes, not '$(STACK)' (local is for laptops)"; exit 2;; esac
	@test -n "$$ZENML_STORE_URL" || { echo "stack-ci: ZENML_STORE_URL is empty: set the team's server (secret)"; exit 2; }
	$(CHURN) stack apply $(STACK)

stack-staging: staging-up ## ZenML stack churn-staging on the local ZenML server + MLflow server
	CHURN_MLFLOW_REMOTE_URI=http://127.0.0.1:$(STAGING_MLFLOW_PORT) CHURN_STAGING_DIR=$(STAGING_DIR) $(CHURN) stack apply staging

stack-kubernetes: venv ## ZenML stack churn-kubernetes (needs the CHURN_* variables of stacks/kubernetes.yaml)
	$(CHURN) stack check kubernetes
	$(CHURN) stack apply kubernetes

stack-check: venv ## offline check of a stack file: make stack-check ENV=kubernetes [KUBECONFIG=...]
	$(CHURN) stack check $(or $(ENV),local) $(if $(KUBECONFIG),--kubeconfig $(KUBECONFIG))

staging-up: venv ## start MLflow server + local ZenML server on 127.0.0.1 (PID files in tmp/staging)
	@mkdir -p $(STAGING_DIR)/mlartifacts
	@if [ -f $(STAGING_DIR)/mlflow.pid ] && kill -0 $$(cat $(STAGING_DIR)/mlflow.pid) 2>/dev/null; then \
		echo ">> MLflow server already running (pid $$(cat $(STAGING_DIR)/mlflow.pid))"; \
	else \
		echo ">> starting MLflow server on 127.0.0.1:$(STAGING_MLFLOW_PORT)"; \
		MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid nohup $(VENV)/bin/mlflow server --host 127.0.0.1 --port $(STAGING_MLFLOW_PORT) --workers 1 \
			--backend-store-uri sqlite:///$(STAGING_DIR)/mlflow.db \
			--artifacts-destination $(STAGING_DIR)/mlartifacts \
			> $(STAGING_DIR)/mlflow.log 2>&1 & echo $$! > $(STAGING_DIR)/mlflow.pid; \
	fi
	@for i in $$(seq 180); do \
		curl -fsS http://127.0.0.1:$(STAGING_MLFLOW_PORT)/health >/dev/null 2>&1 && break; sleep 1; \
	done; curl -fsS http://127.0.0.1:$(STAGING_MLFLOW_PORT)/health >/dev/null \
		|| { echo "MLflow server did not start: see $(STAGING_DIR)/mlflow.log"; exit 1; }
	@echo ">> MLflow tracking server: http://127.0.0.1:$(STAGING_MLFLOW_PORT)"
	@# `zenml login --local` gives the daemon 30 s; on a busy machine it needs longer: wait, retry.
	@$(VENV)/bin/zenml login --local --ip-address 127.0.0.1 --port $(STAGING_ZENML_PORT) \
		|| { echo ">> ZenML server still starting; waiting for /health"; \
		     for i in $$(seq 180); do \
		       curl -fsS http://127.0.0.1:$(STAGING_ZENML_PORT)/health >/dev/null 2>&1 && break; sleep 1; \
		     done; \
		     $(VENV)/bin/zenml login --local --ip-address 127.0.0.1 --port $(STAGING_ZENML_PORT); }
	@pidfile=$$(find "$(ZENML_GLOBAL_CONFIG)" -path '*zen_server*' -name '*.pid' 2>/dev/null | head -1); \
		if [ -n "$$pidfile" ]; then cp "$$pidfile" $(STAGING_DIR)/zenml.pid; fi
	@echo ">> ZenML server: http://127.0.0.1:$(STAGING_ZENML_PORT) (pid $$(cat $(STAGING_DIR)/zenml.pid 2>/dev/null))"

staging-down: ## stop the staging MLflow and ZenML servers started by staging-up
	-$(VENV)/bin/zenml logout --local
	@for name in zenml mlflow; do \
		pidfile=$(STAGING_DIR)/$$name.pid; \
		if [ -f $$pidfile ]; then \
			pid=$$(cat $$pidfile); \
			if kill -0 $$pid 2>/dev/null; then \
				echo ">> stopping $$name (pid $$pid)"; kill -- -$$pid 2>/dev/null || kill $$pid; \
				for i in $$(seq 30); do kill -0 $$pid 2>/dev/null || break; sleep 1; done; \
				if kill -0 $$pid 2>/dev/null; then kill -9 -- -$$pid 2>/dev/null || kill -9 $$pid; fi; \
			fi; \
			rm -f $$pidfile; \
		fi; \
	done

staging-status: ## show whether the staging servers answer
	@curl -fsS http://127.0.0.1:$(STAGING_MLFLOW_PORT)/health >/dev/null 2>&1 \
		&& echo "MLflow: up" || echo "MLflow: down"
	@curl -fsS http://127.0.0.1:$(STAGING_ZENML_PORT)/health >/dev/null 2>&1 \
		&& echo "ZenML server: up" || echo "ZenML server: down"
