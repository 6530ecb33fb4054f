# Prometheus configuration and alert rules checks (promtool). Owned by the stacks part.
PROMTOOL ?= promtool
PROMETHEUS ?= prometheus

.PHONY: monitoring-auth prometheus-rules-test prometheus-up

# monitoring/secrets/ (`churn monitoring-auth`, kept on re-runs): the web configs and the passwords
# and token prometheus.yml reads; `check config` needs its token file to exist
monitoring-auth: venv ## write monitoring/secrets/: basic-auth web configs and passwords (docs/monitoring.md)
	$(PY) -m churn.cli monitoring-auth monitoring/secrets

prometheus-rules-test: monitoring-auth ## promtool check config/rules + alert rule unit tests
	@command -v $(PROMTOOL) >/dev/null || { echo "promtool missing: bash scripts/install_system_deps.sh"; exit 1; }
	cd monitoring && $(PROMTOOL) check config prometheus.yml
	cd monitoring && $(PROMTOOL) check web-config secrets/prometheus.web.yml secrets/alertmanager.web.yml secrets/pushgateway.web.yml
	cd monitoring && $(PROMTOOL) check rules alert_rules.yml
	cd monitoring && $(PROMTOOL) test rules alert_rules_test.yml

prometheus-up: monitoring-auth ## run Prometheus on 127.0.0.1:9090 with monitoring/prometheus.yml, basic auth (foreground)
	@mkdir -p tmp/prometheus
	$(PROMETHEUS) --config.file=monitoring/prometheus.yml --storage.tsdb.path=tmp/prometheus \
		--web.listen-address=127.0.0.1:9090 --web.config.file=monitoring/secrets/prometheus.web.yml
