# shellcheck shell=bash disable=SC2034
# Sourced by the host scripts that build and run the images (deploy/compose_up.sh,
# scripts/container_test.sh): the checkout as the working folder, then the paths both use: REPO,
# PY (the project's Python) and CACHE (base image tarball and engine data root).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
PY="${PY:-$REPO/.venv/bin/python}"
CACHE="${CHURN_CONTAINER_CACHE:-$HOME/.cache/churn-containers}"
