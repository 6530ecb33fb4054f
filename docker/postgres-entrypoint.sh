#!/bin/sh
# First start: initdb in $PGDATA, then the $CHURN_DB_USER role and the $CHURN_DB_NAME database it
# owns. Every start: postgres in the foreground on $PGHOST:$PGPORT, its socket in $PGSOCKETDIR
# (docker/postgres.Dockerfile; tests/containers/test_postgres_entrypoint.py runs this script).
set -eu
SOCKETS="${PGSOCKETDIR:-/var/run/postgresql}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	initdb --pgdata "$PGDATA" --username postgres --auth-local trust --auth-host trust \
		--encoding UTF8 --locale C --no-instructions
	pg_ctl --pgdata "$PGDATA" --options "-c listen_addresses='' -k $SOCKETS" --wait start
	psql -X -h "$SOCKETS" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE \"$CHURN_DB_USER\" LOGIN" \
		-c "CREATE DATABASE \"$CHURN_DB_NAME\" OWNER \"$CHURN_DB_USER\""
	pg_ctl --pgdata "$PGDATA" --mode fast --wait stop
fi
exec postgres -D "$PGDATA" -c listen_addresses="$PGHOST" -p "$PGPORT" -k "$SOCKETS"
