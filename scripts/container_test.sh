#!/usr/bin/env bash
# `make container-test`: build the images and check them running, on a machine with no image
# registry. Starts a private dockerd (docker/engine.sh: no bridge, no iptables, own data root and
# socket), makes or reuses the local base image (docker/base/build_base.sh), then runs
# tests/containers/container_smoke.py: the service, Flask and dashboard images one by one, then the
# docker-compose.yml stack end to end (tests/containers/compose_chain.py: predictions -> PostgreSQL
# -> the monitoring job -> Pushgateway -> Prometheus -> Alertmanager -> a webhook). The engine is
# stopped by PID on every exit path (trap), which also removes whatever the stack left running.
#
# When no engine can be started here (not root, no dockerd and no way to install it), it prints
# "container-test: SKIPPED: <reason>" and exits 0, or 1 with CHURN_CONTAINER_TEST_REQUIRED=1.
#
# Environment:
#   CHURN_CONTAINER_CACHE   cache folder (default ~/.cache/churn-containers): base image tarball and
#                           the engine's data root (image layers, so rebuilds reuse pip layers)
#   CHURN_CONTAINER_FRESH=1 use a throw-away data root instead (cold build, nothing kept)
#   CHURN_CONTAINER_CHAIN=0 skip the compose chain (only the three images)
#   PY                      the project's Python (default .venv/bin/python)
set -euo pipefail
# shellcheck source=../docker/host.sh
source "$(dirname "${BASH_SOURCE[0]}")/../docker/host.sh"
BASE_IMAGE="churn-base:bookworm"
started=$SECONDS

skip() {
	echo "container-test: SKIPPED: $*"
	if [ "${CHURN_CONTAINER_TEST_REQUIRED:-0}" = 1 ]; then exit 1; fi
	exit 0
}

# ---- preflight: root, Debian's docker.io, docker-compose and debootstrap ------------------------
[ "$(id -u)" = 0 ] || skip "dockerd and debootstrap need root (uid is $(id -u))"
# chromium: the compose chain signs in through the TLS edge in a browser (tests/containers/edge_chain.py)
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || ! command -v docker >/dev/null ||
	! command -v docker-compose >/dev/null || ! [ -x /usr/bin/chromium ]; then
	if command -v apt-get >/dev/null; then
		echo "container-test: installing Debian's docker.io, docker-compose and debootstrap"
		export DEBIAN_FRONTEND=noninteractive
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io docker-compose debootstrap chromium; } \
			>/tmp/churn-container-apt.log 2>&1 ||
			skip "apt-get install docker.io docker-compose debootstrap chromium failed (see /tmp/churn-container-apt.log)"
	else
		skip "dockerd/docker-compose/debootstrap missing and no apt-get to install them"
	fi
fi
[ -x "$PY" ] || skip "no project Python at $PY (run make venv)"
# shellcheck source=../docker/engine.sh
source "$REPO/docker/engine.sh"

mkdir -p "$CACHE"
# One run at a time per cache: two daemons must never share a data root (engine.sh closes fd 9
# for dockerd, so the lock is released when this script ends).
exec 9>"$CACHE/.lock"
flock -w 900 9 || skip "another container test holds $CACHE/.lock"

RUN_DIR="$(mktemp -d /tmp/churn-ct.XXXXXX)"
DATA_ROOT="$CACHE/engine-data"
[ "${CHURN_CONTAINER_FRESH:-0}" = 1 ] && DATA_ROOT="$RUN_DIR/data"
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	engine_stop "$RUN_DIR" || true
	if [ "$rc" != 0 ] && [ -d "$RUN_DIR/work/logs" ]; then
		mkdir -p "$REPO/reports/containers"
		cp -r "$RUN_DIR/work/logs" "$REPO/reports/containers/last-failure-logs" 2>/dev/null || true
		cp "$RUN_DIR/dockerd.log" "$REPO/reports/containers/last-failure-logs/" 2>/dev/null || true
		echo "container-test: logs kept in reports/containers/last-failure-logs"
	fi
	rm -rf "$RUN_DIR"
	echo "container-test: wall time $((SECONDS - started)) s"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

engine_start "$RUN_DIR" "$DATA_ROOT" || skip "dockerd did not start (log above)"
echo "container-test: engine up after $((SECONDS - started)) s"

t0=$SECONDS
bash "$REPO/docker/base/build_base.sh" "$BASE_IMAGE"
echo "container-test: base image ready in $((SECONDS - t0)) s"

mkdir -p "$RUN_DIR/work"
status=0
# CHURN_CONTAINER_CHAIN=0: only the three images, not the compose chain
chain_flag=()
[ "${CHURN_CONTAINER_CHAIN:-1}" = 0 ] && chain_flag=(--no-chain)
PYTHONPATH="$REPO" "$PY" "$REPO/tests/containers/container_smoke.py" \
	--workdir "$RUN_DIR/work" --base-image "$BASE_IMAGE" "${chain_flag[@]}" || status=$?
# No `docker image prune`: the legacy builder keeps a multi-stage build's first stage only as
# untagged images, and those are the pip-install layers the next run reuses.
exit "$status"
