#!/usr/bin/env bash
# Wait until every container of the compose project is healthy (or running, when it has no health
# check; or exited 0, when it is a one-shot like `migrate`). `docker compose up --wait` does this, but Debian's docker-compose 1.29 has no --wait, so
# `make compose-up` uses this with either. COMPOSE is the compose command with its project flag.
set -euo pipefail
: "${COMPOSE:?set COMPOSE to the compose command, e.g. 'docker-compose -p churn'}"
timeout_s=${COMPOSE_WAIT_S:-300}
deadline=$((SECONDS + timeout_s))
format='{{.Name}} {{if eq .State.Status "exited"}}exited-{{.State.ExitCode}}{{else if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'
while :; do
  ids=$($COMPOSE ps -q)
  [ -n "$ids" ] || { echo "compose-wait: no container of the project is up" >&2; exit 1; }
  # shellcheck disable=SC2086
  states=$(docker inspect -f "$format" $ids)
  if ! grep -qvE ' (healthy|running|exited-0)$' <<<"$states"; then
    echo "$states"
    echo "compose-wait: every container is healthy"
    exit 0
  fi
  if grep -qE ' (unhealthy|exited-[1-9][0-9]*|dead)$' <<<"$states"; then
    echo "$states" >&2
    echo "compose-wait: a container failed; see \`$COMPOSE logs\`" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "$states" >&2
    echo "compose-wait: not healthy after ${timeout_s} s (COMPOSE_WAIT_S)" >&2
    exit 1
  fi
  sleep 2
done
