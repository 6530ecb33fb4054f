# Frontends: the Flask ops UI (gunicorn) and the Streamlit dashboard, in front of the churn service.
# `make ui` starts the service when nothing answers at CHURN_SERVICE_URL (via `make serve`), then
# both frontends on 127.0.0.1, and prints their URLs. Ctrl-C stops what it started.
FLASK_PORT ?= 5001
STREAMLIT_PORT ?= 8501
CHURN_SERVICE_URL ?= http://127.0.0.1:$(or $(PORT),3000)
UI_RUN_DIR ?= $(CURDIR)/reports/run/ui
# passed to these targets only: exported globally, they reached every recipe (the test suite
# included) and from there any make run in another checkout
ui flask flask-dev dashboard: export FLASK_PORT := $(FLASK_PORT)
ui flask flask-dev dashboard: export STREAMLIT_PORT := $(STREAMLIT_PORT)
ui flask flask-dev dashboard: export CHURN_SERVICE_URL := $(CHURN_SERVICE_URL)
ui flask flask-dev dashboard: export UI_RUN_DIR := $(UI_RUN_DIR)

.PHONY: ui flask flask-dev dashboard

ui: venv ## service (if not running) + Flask UI + Streamlit dashboard on 127.0.0.1
	@bash frontends/run_ui.sh

flask: venv ## the Flask ops UI under gunicorn on 127.0.0.1:$(FLASK_PORT) (production serving)
	@mkdir -p $(UI_RUN_DIR)/prometheus && rm -f $(UI_RUN_DIR)/prometheus/*.db
	@FLASK_SECRET_KEY="$${FLASK_SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_hex(32))')}" \
	  PROMETHEUS_MULTIPROC_DIR=$(UI_RUN_DIR)/prometheus \
	  $(VENV)/bin/gunicorn -c frontends/flask_app/gunicorn.conf.py frontends.flask_app.wsgi:app

flask-dev: venv ## the Flask UI on Flask's dev server (development only: debugger off, throw-away key)
	CHURN_UI_ENV=development $(VENV)/bin/flask --app frontends.flask_app:create_app run \
	  --host 127.0.0.1 --port $(FLASK_PORT)

dashboard: venv ## the Streamlit dashboard on 127.0.0.1:$(STREAMLIT_PORT)
	@mkdir -p $(UI_RUN_DIR)
	$(PY) -m frontends.streamlit_app.auth_secrets $(UI_RUN_DIR)/streamlit-secrets.toml
	$(VENV)/bin/streamlit run frontends/streamlit_app/Home.py --server.address 127.0.0.1 \
	  --server.port $(STREAMLIT_PORT) --server.headless true --browser.gatherUsageStats false \
	  --secrets.files $(UI_RUN_DIR)/streamlit-secrets.toml
