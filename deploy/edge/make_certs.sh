#!/usr/bin/env bash
# `make certs`: a local certificate authority and a server certificate signed by it, for tests and
# laptops (production takes its certificate from a Secret or cert-manager: docs/containers.md).
#
#   bash deploy/edge/make_certs.sh [DIR] [SERVER_NAME]   # defaults: deploy/edge/certs localhost
#
# Writes DIR/ca.crt, DIR/ca.key (mode 600), DIR/server.crt, DIR/server.key (mode 640: the
# churn-edge container reads it through the file's group, compose's group_add). The server
# certificate names SERVER_NAME, localhost and 127.0.0.1; it lasts 90 days, the CA 2 years. An
# existing pair that still names SERVER_NAME and has 7 days left is kept (idempotent). Trust the CA
# in a browser or with `curl --cacert DIR/ca.crt`. DIR is git-ignored.
set -euo pipefail
DIR="${1:-$(dirname "${BASH_SOURCE[0]}")/certs}"
NAME="${2:-localhost}"
if ! [[ "$NAME" =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]]; then
	echo "make_certs: SERVER_NAME '$NAME' is not a host name" >&2
	exit 2
fi
command -v openssl >/dev/null || { echo "make_certs: openssl is not installed" >&2; exit 1; }
umask 027
mkdir -p "$DIR"
chmod 750 "$DIR"
if [ -s "$DIR/server.crt" ] && [ -s "$DIR/server.key" ] && [ -s "$DIR/ca.crt" ] &&
	openssl x509 -in "$DIR/server.crt" -noout -checkend 604800 >/dev/null 2>&1 &&
	openssl x509 -in "$DIR/server.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:$NAME\b"; then
	echo "make_certs: $DIR/server.crt for $NAME is still valid; kept"
	exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 730 \
	-subj "/CN=churn local CA" -keyout "$tmp/ca.key" -out "$tmp/ca.crt" \
	-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$NAME" \
	-keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=serverAuth" "subjectAltName=DNS:$NAME,DNS:localhost,IP:127.0.0.1" >"$tmp/ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
	-days 90 -extfile "$tmp/ext" -out "$tmp/server.crt" 2>/dev/null
chmod 600 "$tmp/ca.key"
chmod 640 "$tmp/server.key"
chmod 644 "$tmp/ca.crt" "$tmp/server.crt"
mv "$tmp/ca.key" "$tmp/ca.crt" "$tmp/server.key" "$tmp/server.crt" "$DIR/"
echo "make_certs: CA $DIR/ca.crt, server certificate $DIR/server.crt for $NAME (90 days)"
