#!/bin/sh
# The compose PostgreSQL. First start: initdb in $PGDATA and the $CHURN_DB_NAME database owned by
# $CHURN_DB_USER (the migration role: `churn db migrate`). Every start: pg_hba.conf is written
# again (the superuser only through the container's own socket, every TCP login with
# scram-sha-256, the superuser refused over TCP), each role of $CHURN_DB_ROLES gets LOGIN and the
# password in the file $CHURN_DB_PASSWORDS_DIR/<role> (compose secrets; never an environment variable;
# a changed file is a rotated password), then postgres runs in the foreground on $PGHOST:$PGPORT,
# its socket in $PGSOCKETDIR. Migration 0013 grants the part roles their tables (docs/security.md).
# $CHURN_FEATURE_DB (when set) is a second database, owned by the role of the same name and open to
# it only: the feature store's offline store and registry (Feast makes its own tables there).
# tests/containers/test_postgres_entrypoint.py runs this script.
set -eu
SOCKETS="${PGSOCKETDIR:-/var/run/postgresql}"
PASSWORDS="${CHURN_DB_PASSWORDS_DIR:-/run/secrets}"
ROLES="${CHURN_DB_ROLES:-churn_service churn_ui churn_monitor}"
FEATURES="${CHURN_FEATURE_DB:-}"
for role in "$CHURN_DB_USER" $ROLES $FEATURES; do
	if [ ! -s "$PASSWORDS/$role" ]; then
		echo "churn-postgres: no password file $PASSWORDS/$role for role $role" >&2
		exit 1
	fi
done
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	initdb --pgdata "$PGDATA" --username postgres --auth-local peer --auth-host reject \
		--encoding UTF8 --locale C --no-instructions >/dev/null
fi
cat >"$PGDATA/pg_hba.conf" <<'HBA'
# written by churn-postgres at every start (docker/postgres-entrypoint.sh)
local all postgres peer
host  all postgres all reject
host  all all      all scram-sha-256
HBA
pg_ctl --pgdata "$PGDATA" --options "-c listen_addresses='' -k $SOCKETS" --wait --silent start
{
	echo "SET password_encryption = 'scram-sha-256';"
	for role in "$CHURN_DB_USER" $ROLES $FEATURES; do
		# psql reads the file itself (backquotes in \set): the password is in no argv or variable
		printf '\\set pw `cat %s/%s`\n' "$PASSWORDS" "$role"
		printf "SELECT format('CREATE ROLE %%I', '%s') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') \\\\gexec\n" "$role" "$role"
		printf "ALTER ROLE \"%s\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';\n" "$role"
	done
	echo "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec"
	echo "REVOKE ALL ON DATABASE \"$CHURN_DB_NAME\" FROM PUBLIC;"
	for role in "$CHURN_DB_USER" $ROLES; do
		echo "GRANT CONNECT ON DATABASE \"$CHURN_DB_NAME\" TO \"$role\";"
	done
	if [ -n "$FEATURES" ]; then
		echo "SELECT format('CREATE DATABASE %I OWNER %I', '$FEATURES', '$FEATURES') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$FEATURES') \\gexec"
		echo "REVOKE ALL ON DATABASE \"$FEATURES\" FROM PUBLIC;"
		echo "GRANT CONNECT ON DATABASE \"$FEATURES\" TO \"$FEATURES\";"
	fi
} | psql -X -q -h "$SOCKETS" -U postgres -d postgres -v ON_ERROR_STOP=1 \
	-v db="$CHURN_DB_NAME" -v owner="$CHURN_DB_USER" >/dev/null
pg_ctl --pgdata "$PGDATA" --mode fast --wait --silent stop
exec postgres -D "$PGDATA" -c listen_addresses="$PGHOST" -p "$PGPORT" -k "$SOCKETS" \
	-c password_encryption=scram-sha-256
