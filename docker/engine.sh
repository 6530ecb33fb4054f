#!/usr/bin/env bash
# A private Docker engine that leaves the host network alone.
#
# Debian's dockerd started with no bridge, no iptables and no masquerading, its own data root, exec
# root, pid file and unix socket: nothing it does touches the host's network or another engine.
# Containers then run with `--network host` and builds use `--network host` too.
#
#   source docker/engine.sh
#   engine_start DIR [DATA_ROOT]   # exports DOCKER_HOST; DATA_ROOT defaults to DIR/data
#   engine_stop DIR                # stops the daemon by the PID it wrote, waits for it to exit
#
# Or as a command: `bash docker/engine.sh start DIR [DATA_ROOT]` / `bash docker/engine.sh stop DIR`.
# Needs root (dockerd does). DIR should be short: a unix socket path is limited to 107 bytes.

engine_preflight() {
	# Prints why an engine cannot be started here (and returns 1), or nothing.
	if [ "$(id -u)" != 0 ]; then
		echo "dockerd needs root and this shell is uid $(id -u)"
		return 1
	fi
	if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
		echo "dockerd/docker not installed (apt-get install -y docker.io)"
		return 1
	fi
	return 0
}

engine_start() {
	local dir="$1" data_root="${2:-$1/data}" i
	mkdir -p "$dir/exec" "$data_root"
	echo "$data_root" >"$dir/data-root"
	if [ -s "$dir/docker.pid" ] && kill -0 "$(cat "$dir/docker.pid")" 2>/dev/null; then
		echo "engine: already running (pid $(cat "$dir/docker.pid"))" >&2
	else
		dockerd --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
			--data-root "$data_root" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
			--host "unix://$dir/docker.sock" >"$dir/dockerd.log" 2>&1 9>&- &
		echo $! >"$dir/dockerd.launcher.pid"
	fi
	export DOCKER_HOST="unix://$dir/docker.sock"
	for i in $(seq 1 60); do
		if docker info >/dev/null 2>&1; then
			echo "engine: ready in ${i}x0.5 s on $DOCKER_HOST (data root $data_root)" >&2
			return 0
		fi
		if [ -s "$dir/dockerd.launcher.pid" ] && ! kill -0 "$(cat "$dir/dockerd.launcher.pid")" 2>/dev/null; then
			break
		fi
		sleep 0.5
	done
	echo "engine: dockerd did not come up; last log lines:" >&2
	tail -n 20 "$dir/dockerd.log" >&2 || true
	engine_stop "$dir"
	return 1
}

engine_stop() {
	local dir="$1" pid="" i
	for f in "$dir/docker.pid" "$dir/dockerd.launcher.pid"; do
		if [ -s "$f" ]; then
			pid="$(cat "$f")"
			break
		fi
	done
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		# Stop what is still running in this engine first, so the daemon exits promptly.
		DOCKER_HOST="unix://$dir/docker.sock" timeout 30 docker ps -q 2>/dev/null |
			xargs -r env DOCKER_HOST="unix://$dir/docker.sock" timeout 30 docker rm -f >/dev/null 2>&1 || true
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 60); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "engine: dockerd $pid ignored SIGTERM for 30 s, sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	engine_unmount "$dir"
	rm -f "$dir/docker.pid" "$dir/dockerd.launcher.pid"
	echo "engine: stopped (pid $pid)" >&2
}

engine_unmount() {
	# dockerd leaves its data root bind-mounted on itself and a netns file under the exec root:
	# unmount what is left under this engine's folders, deepest first.
	local dir="$1" data_root="" mnt
	[ -s "$dir/data-root" ] && data_root="$(cat "$dir/data-root")"
	awk '{print $2}' /proc/mounts | sort -r | while read -r mnt; do
		case "$mnt" in
		"$dir"/* | "$dir" | "${data_root:-/nonexistent}" | "${data_root:-/nonexistent}"/*)
			umount -l "$mnt" 2>/dev/null || true
			;;
		esac
	done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	start) engine_preflight >&2 && engine_start "${2:?DIR}" "${3:-}" ;;
	stop) engine_stop "${2:?DIR}" ;;
	*)
		echo "usage: $0 start DIR [DATA_ROOT] | stop DIR" >&2
		exit 2
		;;
	esac
fi
