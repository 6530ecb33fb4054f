#!/usr/bin/env bash
# The first admin of a compose deployment, once: `flask users first-admin` inside the running Flask
# container (against the compose PostgreSQL). On a database with users it does nothing.
#
#   COMPOSE="docker-compose -p churn" bash deploy/compose_first_admin.sh [FILE]
#
# FILE (default deploy/local/first-admin.txt, git-ignored) receives "name password" with mode 600,
# and the name and FILE are printed; the password is printed nowhere else. Exit 0 when an admin was
# created or users already exist, 1 when the command failed.
set -euo pipefail
FILE="${1:-$(dirname "${BASH_SOURCE[0]}")/local/first-admin.txt}"
read -r -a compose <<<"${COMPOSE:-docker-compose -p churn}"
# run on its own: the engine and the settings `make compose-up` kept (compose interpolates them)
LOCAL="$(dirname "${BASH_SOURCE[0]}")/local"
for kept in "$LOCAL/engine.env" "$LOCAL/compose.env"; do
	if [ -z "${FLASK_SECRET_KEY:-}" ] && [ -s "$kept" ]; then
		set -a
		# shellcheck disable=SC1090
		source "$kept"
		set +a
	fi
done
out="$("${compose[@]}" exec -T flask flask --app frontends.flask_app:create_app users first-admin --name "${CHURN_FIRST_ADMIN:-admin}")" || {
	echo "first-admin: \`flask users first-admin\` failed in the flask container" >&2
	exit 1
}
# "first sign-in: user 'NAME', password PASSWORD (shown once; ...": nothing when users exist
if [[ "$out" =~ user\ \'([^\']+)\',\ password\ ([^ ]+)\  ]]; then
	mkdir -p "$(dirname "$FILE")"
	(umask 077 && printf '%s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" >"$FILE")
	chmod 600 "$FILE"
	echo "first-admin: created UI admin '${BASH_REMATCH[1]}'; its password is in $FILE (mode 600, shown nowhere else)"
else
	echo "first-admin: the compose database already has users; none created"
fi
