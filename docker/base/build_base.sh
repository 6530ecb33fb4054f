#!/usr/bin/env bash
# Make the local test base image `churn-base:bookworm` (Debian bookworm minbase + Python 3.11 + pip +
# venv), for machines where no image registry is reachable. Real user builds use the public
# `python:3.11-slim-bookworm`; only the container smoke test swaps this image in.
#
#   DOCKER_HOST=... bash docker/base/build_base.sh [IMAGE]
#
# The root filesystem tarball is cached under $CHURN_CONTAINER_CACHE (default
# ~/.cache/churn-containers) keyed by a hash of this recipe, the host CA certificates, the package
# mirror and the pip index settings: a second run with the same inputs only re-imports (or reuses) it.
# Needs root (debootstrap, chroot) and Debian's debootstrap.
set -euo pipefail

IMAGE="${1:-churn-base:bookworm}"
SUITE=bookworm
PACKAGES=python3,python3-pip,python3-venv,python-is-python3,ca-certificates
CACHE="${CHURN_CONTAINER_CACHE:-$HOME/.cache/churn-containers}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

WORK_DIR=""
trap '[ -z "$WORK_DIR" ] || rm -rf "$WORK_DIR"' EXIT

log() { echo "base-image: $*" >&2; }

debian_mirror() {
	# The Debian archive apt uses on this host (deb822 or one-line sources), else deb.debian.org.
	local uri
	uri="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{print $2}' | grep -vE 'security|updates|backports' | grep -E '/debian/?$' | head -n1 || true)"
	if [ -z "$uri" ]; then
		uri="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
	fi
	echo "${uri:-http://deb.debian.org/debian}"
}

host_ca_files() {
	find /usr/local/share/ca-certificates -type f -name '*.crt' 2>/dev/null | sort
}

pip_index_settings() {
	# Only network indexes travel into the image: local paths and file:// URLs do not exist there.
	{
		if [ -n "${PIP_INDEX_URL:-}" ]; then echo "index-url ${PIP_INDEX_URL}"; fi
		for u in ${PIP_EXTRA_INDEX_URL:-}; do echo "extra-index-url $u"; done
		if command -v pip3 >/dev/null; then
			pip3 config list 2>/dev/null | sed -nE "s/^[a-z:._]*(index-url|extra-index-url)='(.*)'$/\1 \2/p" |
				while read -r key urls; do for u in $urls; do echo "$key $u"; done; done
		fi
	} | grep -E ' https?://' | sort -u || true
}

recipe_hash() {
	{
		cat "$HERE/build_base.sh"
		echo "$SUITE $PACKAGES $(debian_mirror)"
		host_ca_files | xargs -r cat
		pip_index_settings
	} | sha256sum | cut -c1-16
}

write_pip_conf() {
	local rootfs="$1" index="" extra=""
	while read -r key url; do
		[ -z "$key" ] && continue
		if [ "$key" = index-url ] && [ -z "$index" ]; then index="$url"; else extra="$extra $url"; fi
	done < <(pip_index_settings)
	{
		echo "[global]"
		echo "cert = /etc/ssl/certs/ca-certificates.crt"
		echo "disable-pip-version-check = true"
		if [ -n "$index" ]; then echo "index-url = $index"; fi
		if [ -n "$extra" ]; then echo "extra-index-url =$extra"; fi
	} >"$rootfs/etc/pip.conf"
}

make_rootfs_tar() {
	local tar="$1" work rootfs
	work="$(mktemp -d "${TMPDIR:-/tmp}/churn-base.XXXXXX")"
	WORK_DIR="$work"
	rootfs="$work/rootfs"
	log "debootstrap $SUITE from $(debian_mirror) (a minute or two)"
	debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$(debian_mirror)" \
		>"$work/debootstrap.log" 2>&1 || {
		tail -n 30 "$work/debootstrap.log" >&2
		return 1
	}
	# Host CA certificates (an egress proxy's CA among them) so that pip and uv work inside.
	mkdir -p "$rootfs/usr/local/share/ca-certificates"
	host_ca_files | while read -r crt; do cp "$crt" "$rootfs/usr/local/share/ca-certificates/"; done
	chroot "$rootfs" update-ca-certificates >/dev/null 2>&1 ||
		cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
	write_pip_conf "$rootfs"
	# Behave like the official python image: pip may install into the system interpreter.
	rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
	chroot "$rootfs" apt-get clean
	rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/* \
		"$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* \
		"$rootfs"/usr/share/info/* "$rootfs"/tmp/*
	mkdir -p "$(dirname "$tar")"
	tar --numeric-owner -C "$rootfs" -czf "$tar.part" .
	mv "$tar.part" "$tar"
}

main() {
	local hash tar index
	hash="$(recipe_hash)"
	if [ "$(docker image inspect -f '{{ index .Config.Labels "churn.base.recipe" }}' "$IMAGE" 2>/dev/null)" = "$hash" ]; then
		log "$IMAGE is current (recipe $hash)"
		return 0
	fi
	tar="$CACHE/base-$SUITE-$hash.tar.gz"
	if [ -s "$tar" ]; then
		log "reusing cached root filesystem $tar"
	else
		local t0=$SECONDS
		make_rootfs_tar "$tar"
		log "root filesystem made in $((SECONDS - t0)) s: $tar ($(du -h "$tar" | cut -f1))"
		# Keep only the current recipe's tarball.
		find "$CACHE" -maxdepth 1 -name "base-$SUITE-*.tar.gz" ! -name "$(basename "$tar")" -delete
	fi
	index="$(pip_index_settings | awk '$1 == "index-url" {print $2; exit}')"
	local changes=(
		--change "LABEL churn.base.recipe=$hash"
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
		--change 'ENV LANG=C.UTF-8'
		--change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'
		--change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt'
		--change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt'
		--change 'CMD ["python3"]'
	)
	if [ -n "$index" ]; then
		changes+=(--change "ENV UV_DEFAULT_INDEX=$index" --change "ENV PIP_INDEX_URL=$index")
	fi
	docker import "${changes[@]}" "$tar" "$IMAGE" >/dev/null
	log "imported $IMAGE (recipe $hash)"
}

main "$@"
