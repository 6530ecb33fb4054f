#!/usr/bin/env bash
# The first admin of a compose deployment, once: `flask users first-admin` inside the running Flask
# container (against the compose PostgreSQL). On a database with users it does nothing.
#
#   COMPOSE="docker-compose -p churn" bash deploy/compose_first_admin.sh
#
# Flask writes "name password" (mode 600, its own user's) to CHURN_UI_FIRST_ADMIN_FILE, which
# docker-compose.yml mounts from the host's deploy/local/first-admin/first-admin.txt; the password is
# printed nowhere. Flask or the dashboard (both mount it) deletes that file when the password is
# changed at the first sign-in (#34):
# nobody has to remember to. Exit 0 when an admin was created or users already exist, 1 when the
# command failed.
set -euo pipefail
HOST_FILE="$(dirname "${BASH_SOURCE[0]}")/local/first-admin/first-admin.txt"
read -r -a compose <<<"${COMPOSE:-docker-compose -p churn}"
# run on its own: the engine `make compose-up` kept
LOCAL="$(dirname "${BASH_SOURCE[0]}")/local"
if [ -z "${DOCKER_HOST:-}" ] && [ -s "$LOCAL/engine.env" ]; then
	set -a
	# shellcheck disable=SC1091
	source "$LOCAL/engine.env"
	set +a
fi
out="$("${compose[@]}" exec -T flask flask --app frontends.flask_app:create_app users first-admin --name "${CHURN_FIRST_ADMIN:-admin}")" || {
	echo "first-admin: \`flask users first-admin\` failed in the flask container" >&2
	exit 1
}
# "first sign-in: user 'NAME', password in PATH (deleted once changed)": nothing when users exist
if [[ "$out" =~ user\ \'([^\']+)\',\ password\ in\  ]]; then
	if [ ! -s "$HOST_FILE" ]; then
		echo "first-admin: Flask made '${BASH_REMATCH[1]}' but $HOST_FILE is missing (is deploy/local/first-admin mounted?)" >&2
		exit 1
	fi
	echo "first-admin: created UI admin '${BASH_REMATCH[1]}'; its password is in $HOST_FILE (mode 600; deleted when it is changed at the first sign-in)"
elif [ -s "$HOST_FILE" ]; then
	echo "first-admin: users exist; the first admin's password is still unchanged in $HOST_FILE"
else
	echo "first-admin: the compose database already has users; none created"
fi
