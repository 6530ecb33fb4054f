# Serving: the BentoML service `churn_service` (docs/serving.md). `make bento` is in training.mk.
SERVE_PORT := $(or $(PORT),3000)
SERVICE_URL := $(or $(CHURN_SERVICE_URL),http://127.0.0.1:$(SERVE_PORT))
LOAD_USERS ?= 32
LOAD_SPAWN_RATE ?= 16
LOAD_DURATION ?= 30s
LOAD_SLO ?= load_tests/slo.yaml
BENTOML := $(VENV)/bin/bentoml
REPORTS := $(or $(CHURN_REPORTS_DIR),reports)

.PHONY: serve serve-dev bento-requirements load-test benchmark-serving test-serving

# A stored Bento runs from its copy in the BentoML store: churn.serve_env hands it the checkout's
# settings (`.env`, and CHURN_PREDICTION_DB, by default data/predictions.db here).
serve: venv ## serve the latest Bento `churn_service` on 127.0.0.1:$PORT (default 3000)
	@$(BENTOML) get churn_service:latest >/dev/null 2>&1 || { \
		echo "no Bento 'churn_service' yet: train (make run) or build one (make bento)"; exit 1; }
	@eval "$$($(PY) -m churn.serve_env)" && echo ">> project database: $$CHURN_PREDICTION_DB" && \
	  BENTOML_DO_NOT_TRACK=True exec $(BENTOML) serve churn_service:latest --host 127.0.0.1 --port $(SERVE_PORT)

serve-dev: venv ## serve bentos/service.py from the working tree (latest telco_churn model)
	BENTOML_DO_NOT_TRACK=True $(BENTOML) serve bentos.service:ChurnService --host 127.0.0.1 --port $(SERVE_PORT)

bento-requirements: venv ## re-cut bentos/requirements.txt (what the service imports) from uv.lock
	$(PY) docker/pin_requirements.py bento

load-test: venv ## Locust, headless, against $CHURN_SERVICE_URL; fails when $LOAD_SLO (load_tests/slo.yaml) breaks
	@mkdir -p $(REPORTS)
	$(VENV)/bin/locust -f load_tests/locustfile.py --headless --only-summary \
		--host $(SERVICE_URL) -u $(LOAD_USERS) -r $(LOAD_SPAWN_RATE) -t $(LOAD_DURATION) \
		--csv $(REPORTS)/load_test --html $(REPORTS)/load_test.html --exit-code-on-error 0
	$(PY) load_tests/check_slo.py $(REPORTS)/load_test_stats.csv $(LOAD_SLO)

benchmark-serving: venv ## service (batching on/off) vs naive Flask, same machine, medians of runs
	$(PY) benchmarks/serving_benchmark.py

test-serving: venv ## the serving tests (starts real services on loopback, ~5 min on 2 busy cores)
	$(VENV)/bin/pytest tests/serving -q
