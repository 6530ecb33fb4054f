#!/usr/bin/env bash
# `make ui`: start the churn service if nothing answers at CHURN_SERVICE_URL, then the Flask UI and
# the Streamlit dashboard on 127.0.0.1; print the URLs; stop everything this script started on exit.
set -euo pipefail
: "${CHURN_SERVICE_URL:=http://127.0.0.1:3000}" "${FLASK_PORT:=5001}" "${STREAMLIT_PORT:=8501}"
RUN_DIR="${UI_RUN_DIR:-$PWD/reports/run/ui}"
mkdir -p "$RUN_DIR"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

ready() { curl -fsS -m 2 "$1" >/dev/null 2>&1; }
wait_for() {  # url seconds name
  for _ in $(seq 1 "$2"); do ready "$1" && return 0; sleep 1; done
  echo "!! $3 did not come up at $1 (logs in $RUN_DIR)" >&2; return 1
}

if ready "$CHURN_SERVICE_URL/readyz"; then
  echo ">> churn service already running at $CHURN_SERVICE_URL"
else
  if make -n serve >/dev/null 2>&1; then
    echo ">> starting the churn service (make serve); log: $RUN_DIR/service.log"
    setsid make --no-print-directory serve >"$RUN_DIR/service.log" 2>&1 &
  else  # no serve target yet: run the service directly on the URL's port
    port="${CHURN_SERVICE_URL##*:}"; port="${port%%/*}"
    echo ">> starting the churn service (bentoml serve, port $port); log: $RUN_DIR/service.log"
    PORT="$port" setsid .venv/bin/bentoml serve bentos.service:ChurnService \
      --host 127.0.0.1 --port "$port" >"$RUN_DIR/service.log" 2>&1 &
  fi
  pids+=($!)
  wait_for "$CHURN_SERVICE_URL/readyz" 180 "the churn service"
fi

# A fresh database has no users: create the first admin (its password is printed once).
CHURN_UI_ENV=development .venv/bin/flask --app frontends.flask_app:create_app users first-admin
setsid make --no-print-directory flask >"$RUN_DIR/flask.log" 2>&1 &
pids+=($!)
setsid make --no-print-directory dashboard >"$RUN_DIR/streamlit.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$FLASK_PORT/healthz" 60 "the Flask UI"
wait_for "http://127.0.0.1:$STREAMLIT_PORT/_stcore/health" 90 "the Streamlit dashboard"

cat <<MSG

  churn service        $CHURN_SERVICE_URL
  Flask ops UI         http://127.0.0.1:$FLASK_PORT/
  Streamlit dashboard  http://127.0.0.1:$STREAMLIT_PORT/

  logs in $RUN_DIR; Ctrl-C stops what this started.
MSG
wait
