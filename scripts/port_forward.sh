#!/usr/bin/env bash
# Run a command while `kubectl port-forward` maps a Kubernetes service to 127.0.0.1:PORT.
#   scripts/port_forward.sh NAMESPACE SERVICE PORT -- COMMAND...
# Waits (up to 30 s) for the forwarded /readyz to answer, runs COMMAND, stops the forward.
set -euo pipefail
[ "$#" -ge 5 ] && [ "$4" = "--" ] || { echo "usage: $0 NAMESPACE SERVICE PORT -- COMMAND..." >&2; exit 2; }
namespace=$1 service=$2 port=$3
shift 4
"${KUBECTL:-kubectl}" -n "$namespace" port-forward "svc/$service" "$port:3000" --address 127.0.0.1 &
forward=$!
trap 'kill "$forward" 2>/dev/null || true' EXIT
for _ in $(seq 30); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$forward" 2>/dev/null || { echo "port-forward to svc/$service ended" >&2; exit 1; }
    sleep 1
done
"$@"
