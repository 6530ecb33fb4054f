#!/usr/bin/env bash
# Blue-green switch for the production churn service (see docs/environments.md).
#
#   deploy/switch.sh current          print the live color (the churn-service Service selector)
#   deploy/switch.sh green            send traffic to green (after checking green is rolled out)
#   deploy/switch.sh blue             ... or back to blue: that is the rollback
#   deploy/switch.sh --record green   only rewrite overlays/production/active-slot.yaml
#
# Options (environment): NAMESPACE (default churn), KUBECTL (default kubectl),
# KUBE_CONTEXT (passed as --context), ROLLOUT_TIMEOUT (default 300s), DRY_RUN=1 (print only).
# A switch also rewrites overlays/production/active-slot.yaml, so that the next
# `kubectl apply -k deploy/overlays/production` keeps the live color; commit that file.
set -euo pipefail

NAMESPACE="${NAMESPACE:-churn}"
KUBECTL="${KUBECTL:-kubectl}"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"
SERVICE=churn-service
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SLOT_FILE="${SLOT_FILE:-$HERE/overlays/production/active-slot.yaml}"

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

kube() {
    local args=(-n "$NAMESPACE")
    if [ -n "${KUBE_CONTEXT:-}" ]; then args+=(--context "$KUBE_CONTEXT"); fi
    if [ "${DRY_RUN:-0}" = 1 ]; then echo "+ $KUBECTL ${args[*]} $*"; return 0; fi
    "$KUBECTL" "${args[@]}" "$@"
}

current() {
    "$KUBECTL" -n "$NAMESPACE" ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} \
        get service "$SERVICE" -o 'jsonpath={.spec.selector.slot}'
}

record() {
    local color="$1"
    sed -i -E "s/^(    slot: ).*/\1$color/" "$SLOT_FILE"
    grep -q "^    slot: $color\$" "$SLOT_FILE" || { echo "could not record $color in $SLOT_FILE" >&2; exit 1; }
    echo "recorded $color in ${SLOT_FILE#"$HERE"/}"
}

check_color() {
    case "$1" in
        blue | green) ;;
        *) echo "unknown color '$1': use blue or green" >&2; exit 2 ;;
    esac
}

[ $# -ge 1 ] || usage
case "$1" in
    -h | --help) usage ;;
    current) current; echo; exit 0 ;;
    --record) [ $# -eq 2 ] || usage; check_color "$2"; record "$2"; exit 0 ;;
esac

target="$1"
check_color "$target"
previous="$(current 2>/dev/null || true)"
if [ "$previous" = "$target" ]; then
    echo "churn-service already sends traffic to $target: nothing to do"
    exit 0
fi

echo ">> waiting for deployment/$SERVICE-$target to be rolled out"
kube rollout status "deployment/$SERVICE-$target" --timeout "$ROLLOUT_TIMEOUT"
echo ">> switching service/$SERVICE from ${previous:-<none>} to $target"
kube patch service "$SERVICE" --type merge -p "{\"spec\":{\"selector\":{\"slot\":\"$target\"}}}"
record "$target"
if [ -n "$previous" ]; then
    echo ">> rollback: deploy/switch.sh $previous"
fi
