#!/usr/bin/env bash
# Blue-green, step one: put IMAGE on the idle color only, keep the live color's image, apply the
# production overlay and wait for the idle rollout. Prints (and appends to $GITHUB_OUTPUT when set)
# `active=<color>` and `idle=<color>`, which `make idle-check`, `make switch-color` and the rollback
# step use. Environment: IMAGE (required), NAMESPACE (default churn), KUBECTL, KUSTOMIZE.
set -euo pipefail

: "${IMAGE:?IMAGE is required}"
NAMESPACE="${NAMESPACE:-churn}"
KUBECTL="${KUBECTL:-kubectl}"
KUSTOMIZE="${KUSTOMIZE:-kustomize}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

active=$("$HERE/switch.sh" current || true)
active=${active:-blue}
idle=$([ "$active" = blue ] && echo green || echo blue)
echo "active=$active idle=$idle"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'active=%s\nidle=%s\n' "$active" "$idle" >> "$GITHUB_OUTPUT"
fi

live_image=$("$KUBECTL" -n "$NAMESPACE" get deployment "churn-service-$active" \
    -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>/dev/null || true)
"$HERE/switch.sh" --record "$active"
(cd "$HERE/overlays/production/$idle" && "$KUSTOMIZE" edit set image "churn-service=$IMAGE")
if [ -n "$live_image" ]; then
    (cd "$HERE/overlays/production/$active" && "$KUSTOMIZE" edit set image "churn-service=$live_image")
fi
"$KUBECTL" apply -k "$HERE/overlays/production"
"$KUBECTL" -n "$NAMESPACE" rollout status "deployment/churn-service-$idle" --timeout 300s
