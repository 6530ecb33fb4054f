#!/usr/bin/env bash
# System packages the test suite needs (`make test` runs this; so does CI): promtool/prometheus,
# Alertmanager (amtool) and Pushgateway, PostgreSQL (initdb/pg_ctl), chromium, docker-compose
# (config check), curl and make (`make staging-up` in the staging test), Java 17 for Spark
# (`churn predict --engine spark`, docs/scale.md), nginx (the TLS edge proxy, tests/edge), Node
# with npm for the OpenID provider of the sign-in tests (scripts/install_oidc_provider.sh, run last).
# Idempotent: installs only what is missing. Needs root or password-less sudo; Debian/Ubuntu.
# Where it cannot install, it stops at once and prints the exact command to run.
set -euo pipefail

packages=(prometheus prometheus-alertmanager prometheus-pushgateway postgresql chromium
          docker-compose curl make openjdk-17-jre-headless nginx redis-server nodejs)
# Ubuntu ships chromium as a snap stub; chromium-browser is the apt name there.
if [ -r /etc/os-release ] && grep -qi '^ID=ubuntu' /etc/os-release; then
    packages=("${packages[@]/#chromium/chromium-browser}")
fi

missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install_system_deps: already installed: ${packages[*]}"
    bash "$(dirname "${BASH_SOURCE[0]}")/install_oidc_provider.sh"
    exit 0
fi

command_line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if ! command -v apt-get >/dev/null; then
    echo "install_system_deps: missing ${missing[*]} and no apt-get here; install them, or run" >&2
    echo "  make test CHURN_ALLOW_SKIPS=1   (the tests that need them are skipped, and counted)" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        SUDO="sudo"
    else
        echo "install_system_deps: missing ${missing[*]}; not root and no password-less sudo. Run:" >&2
        echo "  sudo sh -c '$command_line'" >&2
        echo "then make test again (or make test CHURN_ALLOW_SKIPS=1 to skip what needs them)" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install_system_deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Some of these packages start a system service on install; the tests start their own servers on
# loopback, in temporary folders, so stop those.
for service in prometheus prometheus-alertmanager prometheus-pushgateway postgresql nginx \
               redis-server; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
        $SUDO systemctl stop "$service" || true
    elif command -v service >/dev/null && [ -x "/etc/init.d/$service" ]; then
        $SUDO service "$service" stop >/dev/null 2>&1 || true
    fi
done
# Browser tests drive /usr/bin/chromium.
if ! command -v chromium >/dev/null && command -v chromium-browser >/dev/null; then
    $SUDO ln -sf "$(command -v chromium-browser)" /usr/bin/chromium
fi
for tool in promtool amtool; do
    command -v "$tool" >/dev/null || { echo "install_system_deps: $tool still missing" >&2; exit 1; }
done
bash "$(dirname "${BASH_SOURCE[0]}")/install_oidc_provider.sh"
echo "install_system_deps: done"
