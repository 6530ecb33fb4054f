#!/usr/bin/env bash
# `make compose-up`: the docker-compose.yml stack on this machine, offline, the way `make
# container-test` builds it: the local base image (docker/base/build_base.sh), the legacy builder
# (no BuildKit), the Bento containerized FROM that base, and a private engine (docker/engine.sh)
# when no Docker engine answers here (it keeps running for the stack; `make compose-down` stops it).
#
# Kept between runs in deploy/local/ (git-ignored, mode 600): compose.env (FLASK_SECRET_KEY and
# CHURN_CUSTOMER_ID_KEY: made once, reused, so sessions and customer keys survive a restart),
# first-admin.txt (the first UI admin, written once). Certificates: `make certs` (deploy/edge/certs)
# unless they exist. The frontends get a fresh `predict` token of the compose PostgreSQL each run.
#
# Environment: PY (the project's Python), COMPOSE (default "docker-compose -p churn"),
# LOCAL_BASE_IMAGE (churn-base:bookworm), CHURN_HTTPS_PORT (8443), CHURN_EDGE_SERVER_NAME.
set -euo pipefail
# shellcheck source=../docker/host.sh
source "$(dirname "${BASH_SOURCE[0]}")/../docker/host.sh"
LOCAL="$REPO/deploy/local"
BASE="${LOCAL_BASE_IMAGE:-churn-base:bookworm}"
read -r -a compose <<<"${COMPOSE:-docker-compose -p churn}"
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
mkdir -p "$LOCAL"
chmod 700 "$LOCAL"

# ---- an engine: the one that answers, or a private one (its DOCKER_HOST kept for compose-down)
if [ -s "$LOCAL/engine.env" ]; then
	# shellcheck disable=SC1091
	source "$LOCAL/engine.env"
	export DOCKER_HOST
fi
if ! docker info >/dev/null 2>&1; then
	# shellcheck source=../docker/engine.sh
	source "$REPO/docker/engine.sh"
	reason="$(engine_preflight)" || { echo "compose-up: no Docker engine and none can start: $reason" >&2; exit 1; }
	ENGINE_DIR=/tmp/churn-compose-engine
	engine_start "$ENGINE_DIR" "${CHURN_COMPOSE_ENGINE_DATA:-$CACHE/compose-engine-data}"
	printf 'DOCKER_HOST=%s\nENGINE_DIR=%s\n' "$DOCKER_HOST" "$ENGINE_DIR" >"$LOCAL/engine.env"
	echo "compose-up: started a private engine ($DOCKER_HOST); make compose-down stops it"
fi

# ---- secrets made once, certificates, images
if [ ! -s "$LOCAL/compose.env" ]; then
	(umask 077 && "$PY" -c 'import secrets
print(f"FLASK_SECRET_KEY={secrets.token_hex(32)}")
print(f"CHURN_CUSTOMER_ID_KEY={secrets.token_hex(32)}")' >"$LOCAL/compose.env")
	echo "compose-up: new FLASK_SECRET_KEY and CHURN_CUSTOMER_ID_KEY in $LOCAL/compose.env (mode 600)"
fi
set -a
# shellcheck disable=SC1091
source "$LOCAL/compose.env"
set +a
bash deploy/edge/make_certs.sh deploy/edge/certs "${CHURN_EDGE_SERVER_NAME:-localhost}"
CHURN_EDGE_CERT_GID="$(stat -c %g deploy/edge/certs/server.key)"
export CHURN_EDGE_CERT_GID CHURN_BASE_IMAGE="$BASE"

bash docker/base/build_base.sh "$BASE"
tag="$("$PY" docker/bento/build_local.py "$BASE" | tail -n 1)"
"$PY" -m bentoml containerize "$tag" -t churn-service:bento-local --backend docker --opt network=host
docker build --network host -f docker/bento/Dockerfile --build-arg BENTO_IMAGE=churn-service:bento-local \
	-t churn-service:latest docker
export CHURN_SERVICE_IMAGE=churn-service:latest
"${compose[@]}" build

# ---- PostgreSQL first: the frontends' token lives there
"${compose[@]}" up -d postgres
COMPOSE="${compose[*]}" COMPOSE_WAIT_S=120 bash scripts/compose_wait.sh >/dev/null
db="postgresql://churn@127.0.0.1:5432/churn"
CHURN_PREDICTION_DB="$db" "$PY" -m churn.cli auth token revoke compose-frontends >/dev/null 2>&1 || true
CHURN_API_TOKEN="$(CHURN_PREDICTION_DB="$db" "$PY" -m churn.cli auth token create compose-frontends \
	--scope predict --actor compose-up | tail -n 1)"
export CHURN_API_TOKEN
"${compose[@]}" up -d
COMPOSE="${compose[*]}" bash scripts/compose_wait.sh
COMPOSE="${compose[*]}" bash deploy/compose_first_admin.sh "$LOCAL/first-admin.txt"

url="https://${CHURN_EDGE_SERVER_NAME:-localhost}:${CHURN_HTTPS_PORT:-8443}"
cat <<MSG

The stack is up behind the TLS edge (certificate of the local CA deploy/edge/certs/ca.crt):
  Flask ops UI     $url/
  dashboard        $url/dashboard/
  service API      $url/api/   (e.g. $url/api/readyz; bearer tokens: churn auth token create)
  Grafana          $url/grafana/   (with --profile grafana)
  http://${CHURN_EDGE_SERVER_NAME:-localhost}:${CHURN_HTTP_PORT:-8080}/ redirects there.
Sign in with the first admin in $LOCAL/first-admin.txt. Stop it: make compose-down
MSG
