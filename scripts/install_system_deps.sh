#!/usr/bin/env bash
# System packages the test suite needs (CI and fresh machines): promtool/prometheus, chromium,
# docker-compose (config check), curl and make (`make staging-up` in the staging test).
# Idempotent: installs only what is missing. Needs root or sudo; Debian/Ubuntu (apt-get).
set -euo pipefail

packages=(prometheus chromium docker-compose curl make)
# Ubuntu ships chromium as a snap stub; chromium-browser is the apt name there.
if [ -r /etc/os-release ] && grep -qi '^ID=ubuntu' /etc/os-release; then
    packages=(prometheus chromium-browser docker-compose curl make)
fi

missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install_system_deps: already installed: ${packages[*]}"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install_system_deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian's prometheus package starts a server on install; the tests run promtool only.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl stop prometheus || true
fi
# Browser tests drive /usr/bin/chromium.
if ! command -v chromium >/dev/null && command -v chromium-browser >/dev/null; then
    $SUDO ln -sf "$(command -v chromium-browser)" /usr/bin/chromium
fi
command -v promtool >/dev/null
echo "install_system_deps: done"
