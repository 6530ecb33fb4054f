#!/usr/bin/env bash
# The OpenID provider the sign-in tests start on loopback (tests/fixtures/oidc.py): panva's
# oidc-provider from the npm registry, at the version pinned by tests/fixtures/oidc_provider/
# package-lock.json, installed with `npm ci` into .tools/oidc-provider (git-ignored, outside the
# state the test suite guards). Run by scripts/install_system_deps.sh (`make test`); needs Node 20+.
# Idempotent: does nothing when the installed lock matches the committed one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/tests/fixtures/oidc_provider"
dest="$root/.tools/oidc-provider"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "install_oidc_provider: node and npm are needed (Node 20+: apt-get install nodejs npm)" >&2
    exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
    echo "install_oidc_provider: Node $(node --version) is too old; oidc-provider 9 needs Node 20+" >&2
    exit 1
fi
if [ -f "$dest/node_modules/oidc-provider/package.json" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    echo "install_oidc_provider: already installed ($dest)"
    exit 0
fi
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
(cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
echo "install_oidc_provider: installed oidc-provider $(node -p "require('$dest/node_modules/oidc-provider/package.json').version") in $dest"
