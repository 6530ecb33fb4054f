# Drift monitoring (docs/monitoring.md). Owned by the monitoring part.
# CHURN, PY and VENV come from the root Makefile.
MONITOR_CONFIG ?= configs/monitoring.yaml
EVERY ?= 1h
SCENARIO ?= price_rise
REPLAY_ROWS ?= 1500
REPLAY_RATE ?= 2
REPLAY_CSV ?= tmp/replay_$(SCENARIO).csv

.PHONY: monitor monitor-every monitor-pipeline replay test-monitoring test-monitoring-fast

monitor: venv ## run the monitoring pipeline once; prints the drift decision as one JSON line
	$(CHURN) monitor --config $(MONITOR_CONFIG)

monitor-every: venv ## run the monitoring pipeline every $(EVERY) on this machine (Ctrl-C stops)
	$(CHURN) monitor --config $(MONITOR_CONFIG) --every $(EVERY)

monitor-pipeline: venv ## the same run through the ZenML CLI
	$(VENV)/bin/zenml pipeline run pipelines.monitoring.monitoring_pipeline -c $(MONITOR_CONFIG)

replay: venv ## replay generated traffic (SCENARIO=none|price_rise|contract_shift|fiber_surge) to the service
	@mkdir -p $(dir $(REPLAY_CSV))
	$(CHURN) generate --rows $(REPLAY_ROWS) --drift $(SCENARIO) --seed 7 --out $(REPLAY_CSV)
	$(PY) load_tests/replay.py $(REPLAY_CSV) --rate $(REPLAY_RATE) --batch-size 100

test-monitoring-fast: venv ## monitoring unit tests (no ZenML, no Evidently report)
	$(VENV)/bin/pytest tests/monitoring -q -m "not slow"

test-monitoring: venv ## all monitoring tests, including Evidently scenarios, the pipeline and e2e
	$(VENV)/bin/pytest tests/monitoring -q
