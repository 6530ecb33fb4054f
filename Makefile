# Telco churn MLOps platform. `make run` then `make test` is the whole set-up (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv: the one on PATH, else a private copy bootstrapped from PyPI into .tools/
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
CHURN := $(VENV)/bin/churn
export UV_LINK_MODE ?= copy
export PYTHONUNBUFFERED := 1
export PATH := $(VENV)/bin:$(PATH)
DATA ?= data/raw/telco_churn.csv

.PHONY: help uv venv run test system-deps lint format typecheck data clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

uv: ## install uv from PyPI into .tools/ when it is missing
	@if [ ! -x "$(UV)" ]; then \
		echo ">> bootstrapping uv into .tools/"; \
		python3 -m venv .tools && .tools/bin/pip install --quiet uv; \
	fi

$(VENV)/.synced: uv.lock pyproject.toml | uv
	@echo ">> creating .venv from uv.lock"
	$(UV) sync --frozen
	@touch $@

venv: $(VENV)/.synced ## create .venv from the lock file

data: venv ## reproduce the default data with DVC (data/raw/telco_churn.csv)
	$(VENV)/bin/dvc repro --quiet

lint: venv ## ruff lint + format check + the import layers (docs/ARCHITECTURE.md)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: venv ## mypy
	$(VENV)/bin/mypy churn steps pipelines bentos frontends load_tests

run: venv data ## the main job: register the local stack, then train, promote and package on DATA
	$(CHURN) validate $(DATA)
	$(PY) scripts/ensure_local_token.py  # an admin API token in the git-ignored .env (mode 600)
	$(MAKE) --no-print-directory stack-local
	$(MAKE) --no-print-directory train DATA=$(DATA)
	$(MAKE) --no-print-directory features DATA=$(DATA)  # customers by ID (docs/features.md)

# CHURN_ALLOW_SKIPS=1 is the one opt-out: system packages that cannot be installed are left out,
# and the tests that need them are skipped (and counted in the summary) instead of failing.
export CHURN_ALLOW_SKIPS

system-deps: ## install the system packages the tests use when missing (root or password-less sudo)
	@if [ -n "$(filter 1 true yes,$(CHURN_ALLOW_SKIPS))" ]; then \
		bash scripts/install_system_deps.sh \
			|| echo ">> CHURN_ALLOW_SKIPS=$(CHURN_ALLOW_SKIPS): going on; the tests that need them skip"; \
	else bash scripts/install_system_deps.sh; fi

test: venv data system-deps ## run the whole test suite (installs what it needs first)
	$(UV) sync --frozen --inexact --group spark --group events  # pyspark for tests/scale (docs/scale.md); the Tansu broker for tests/events (docs/events.md)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean: ## remove generated outputs (keeps .venv)
	rm -rf reports/*.html .pytest_cache .mypy_cache .ruff_cache

-include mk/*.mk
