# Prometheus configuration and alert rules checks (promtool). Owned by the stacks part.
PROMTOOL ?= promtool
PROMETHEUS ?= prometheus

.PHONY: prometheus-rules-test prometheus-up

prometheus-rules-test: ## promtool check config/rules + alert rule unit tests
	@command -v $(PROMTOOL) >/dev/null || { echo "promtool missing: bash scripts/install_system_deps.sh"; exit 1; }
	cd monitoring && $(PROMTOOL) check config prometheus.yml
	cd monitoring && $(PROMTOOL) check rules alert_rules.yml
	cd monitoring && $(PROMTOOL) test rules alert_rules_test.yml

prometheus-up: ## run Prometheus on 127.0.0.1:9090 with monitoring/prometheus.yml (foreground)
	@mkdir -p tmp/prometheus
	$(PROMETHEUS) --config.file=monitoring/prometheus.yml --storage.tsdb.path=tmp/prometheus \
		--web.listen-address=127.0.0.1:9090
