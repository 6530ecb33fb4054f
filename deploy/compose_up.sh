#!/usr/bin/env bash
# `make compose-up`: the docker-compose.yml stack on this machine, offline, the way `make
# container-test` builds it: the local base image (docker/base/build_base.sh), the legacy builder
# (no BuildKit), the Bento containerized FROM that base, and a private engine (docker/engine.sh)
# when no Docker engine answers here (it keeps running for the stack; `make compose-down` stops it).
#
# Kept between runs in deploy/local/ (git-ignored, mode 700): compose.env (FLASK_SECRET_KEY and
# CHURN_CUSTOMER_ID_KEY: made once, reused, so sessions and customer keys survive a restart),
# secrets/ (deploy/compose_secrets.py: a password per database role and Redis, kept, and each
# container's secret files, 0400 and owned by the user of the image that reads them),
# first-admin/first-admin.txt (the first UI admin, written once by Flask, deleted by the UI that
# takes the forced password change at the first sign-in). Certificates: `make certs`
# (deploy/edge/certs) unless they exist.
# The monitoring servers' secrets: `churn monitoring-auth --owner` (monitoring/secrets, 0400 for
# the observability image's user). The schema: the one-shot `migrate` service, as the owner role;
# the frontends get a fresh `predict` token of the compose PostgreSQL each run. No secret is
# exported to this script's environment or a container's: they are files (docs/security.md).
#
# The feature store (docs/features.md): Redis (online) and the `churn_features` database (offline
# store and registry); when data/raw/telco_churn.csv exists (`make run` made it), its customers are
# ingested and materialized into the stack before the service starts, so by-ID /predict answers.
# Grafana (the one image from a public registry) starts when its image is in the engine or can be
# pulled; offline, this script says so and goes on without it.
#
# Environment: PY (the project's Python), COMPOSE (default "docker-compose -p churn"),
# LOCAL_BASE_IMAGE (churn-base:bookworm), MONITORING_SECRETS (monitoring/secrets),
# CHURN_HTTPS_PORT (8443), CHURN_EDGE_SERVER_NAME; company sign-in (docs/security.md): CHURN_SIGN_IN,
# CHURN_OIDC_ISSUER, CHURN_OIDC_CLIENT_ID, CHURN_OIDC_CLIENT_SECRET_FILE (a file: its content goes
# to the two UIs as a secret file), CHURN_OIDC_ROLES_CLAIM, CHURN_OIDC_ROLE_MAP, CHURN_OIDC_SCOPES.
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
# not exported: they reach the containers as secret files only (deploy/compose_secrets.py)
# shellcheck disable=SC1091
source "$LOCAL/compose.env"
bash deploy/edge/make_certs.sh deploy/edge/certs "${CHURN_EDGE_SERVER_NAME:-localhost}"
CHURN_EDGE_CERT_GID="$(stat -c %g deploy/edge/certs/server.key)"
export CHURN_EDGE_CERT_GID CHURN_BASE_IMAGE="$BASE"

bash docker/base/build_base.sh "$BASE"
tag="$("$PY" docker/bento/build_local.py "$BASE" | tail -n 1)"
"$PY" -m bentoml containerize "$tag" -t churn-service:bento-local --backend docker --opt network=host
docker build --network host -f docker/bento/Dockerfile --build-arg BENTO_IMAGE=churn-service:bento-local \
	-t churn-service:latest docker
export CHURN_SERVICE_IMAGE=churn-service:latest
# the monitor profile too: its image, churn-monitor, is also the one-shot migrate's (a profile's
# service is built only with its profile on; without it a fresh clone's migrate had no image)
"${compose[@]}" --profile monitor build

# ---- secrets: each file 0400 for the user of the image that reads it (uid:gid asked of the image)
owner_of() { docker run --rm --network none --entrypoint sh "$1" -c 'echo "$(id -u):$(id -g)"'; }
"$PY" -m churn.cli monitoring-auth "${MONITORING_SECRETS:-monitoring/secrets}" \
	--owner "$(owner_of churn-observability:latest)"
app="$(owner_of churn-flask:latest)" # flask, dashboard, monitor and migrate: the churn user 10001
# the first admin's password file: written by Flask, deleted by the UI taking the forced change
mkdir -p "$LOCAL/first-admin"
chown "$app" "$LOCAL/first-admin"
chmod 700 "$LOCAL/first-admin"
secret_files() {
	FLASK_SECRET_KEY="$FLASK_SECRET_KEY" CHURN_CUSTOMER_ID_KEY="$CHURN_CUSTOMER_ID_KEY" \
		CHURN_API_TOKEN="${1:-}" "$PY" deploy/compose_secrets.py "$LOCAL/secrets" \
		--monitoring "${MONITORING_SECRETS:-monitoring/secrets}" \
		--owner "postgres=$(owner_of churn-postgres:latest)" \
		--owner "redis=$(owner_of churn-redis:latest)" \
		--owner "churn-service=$(owner_of churn-service:latest)" \
		--owner "flask=$app" --owner "dashboard=$app" --owner "monitor=$app" --owner "migrate=$app" \
		--owner "grafana=472:0"
}
secret_files ""

# ---- PostgreSQL, then the schema (the migration role, once), then the frontends' token
"${compose[@]}" up -d postgres
COMPOSE="${compose[*]}" COMPOSE_WAIT_S=120 bash scripts/compose_wait.sh >/dev/null
"${compose[@]}" run --rm migrate
# the owner role's URL, for this script's own CLI calls only (a variable of this process)
db="$(cat "$LOCAL/secrets/host/CHURN_PREDICTION_DB")"
CHURN_PREDICTION_DB="$db" "$PY" -m churn.cli auth token revoke compose-frontends >/dev/null 2>&1 || true
token="$(CHURN_PREDICTION_DB="$db" "$PY" -m churn.cli auth token create compose-frontends \
	--scope predict --actor compose-up | tail -n 1)"
secret_files "$token" >/dev/null
# ---- the feature store: Redis up, then the default customers in (the service reads them by ID)
"${compose[@]}" up -d redis
COMPOSE="${compose[*]}" COMPOSE_WAIT_S=120 bash scripts/compose_wait.sh >/dev/null
if [ -s data/raw/telco_churn.csv ]; then
	# the host's secret folder names the stack's Redis and feature database (no password in argv)
	CHURN_SECRETS_DIR="$LOCAL/secrets/host" "$PY" -m churn.cli features ingest data/raw/telco_churn.csv --as-of now
	CHURN_SECRETS_DIR="$LOCAL/secrets/host" "$PY" -m churn.cli features materialize
else
	echo "compose-up: no data/raw/telco_churn.csv (make run): the feature store is empty; by-ID scoring answers 404 until \`churn features ingest\` and \`materialize\` (docs/features.md)"
fi

# ---- Grafana: its image is the one not built here
GRAFANA_IMAGE="$("$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["services"]["grafana"]["image"])' docker-compose.yml)"
grafana=()
if docker image inspect "$GRAFANA_IMAGE" >/dev/null 2>&1 || timeout 60 docker pull -q "$GRAFANA_IMAGE" >/dev/null 2>&1; then
	grafana=(--profile grafana)
else
	echo "compose-up: Grafana NOT started: its image $GRAFANA_IMAGE is not in this engine and cannot be pulled (offline?); \`docker load\` it, then make compose-up again"
fi
"${compose[@]}" "${grafana[@]}" up -d
COMPOSE="${compose[*]}" bash scripts/compose_wait.sh
COMPOSE="${compose[*]}" bash deploy/compose_first_admin.sh

url="https://${CHURN_EDGE_SERVER_NAME:-localhost}:${CHURN_HTTPS_PORT:-8443}"
cat <<MSG

The stack is up behind the TLS edge (certificate of the local CA deploy/edge/certs/ca.crt):
  Flask ops UI     $url/
  dashboard        $url/dashboard/
  service API      $url/api/   (e.g. $url/api/readyz; bearer tokens: churn auth token create)
  Grafana          $url/grafana/   ($([ ${#grafana[@]} -gt 0 ] && echo started || echo "not started: no image offline"))
  http://${CHURN_EDGE_SERVER_NAME:-localhost}:${CHURN_HTTP_PORT:-8080}/ redirects there.
Sign in with the first admin in $LOCAL/first-admin/first-admin.txt (deleted once its password is
changed at the first sign-in). Stop it: make compose-down
MSG
