# The online model lifecycle (docs/lifecycle.md): promotion, rollback, experiments, live switching.
# PY and VENV come from the root Makefile.
DEMO_DIR ?=

.PHONY: lifecycle-demo test-lifecycle

lifecycle-demo: venv ## train v1+v2, shadow, promote under load, auto-rollback, audit: on loopback, isolated stores
	$(PY) scripts/lifecycle_demo.py $(if $(DEMO_DIR),--workdir $(DEMO_DIR))

test-lifecycle: venv ## the lifecycle tests (real ZenML, MLflow, BentoML, services on loopback)
	$(VENV)/bin/pytest tests/lifecycle -q
