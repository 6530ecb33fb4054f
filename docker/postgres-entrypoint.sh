#!/bin/sh
# First start: initdb in $PGDATA, then the churn role and database. Every start: postgres in the
# foreground on $PGHOST:$PGPORT (docker/postgres.Dockerfile).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	initdb --pgdata "$PGDATA" --username postgres --auth-local trust --auth-host trust \
		--encoding UTF8 --no-instructions
	pg_ctl --pgdata "$PGDATA" --options "-c listen_addresses='' -k /var/run/postgresql" --wait start
	psql -h /var/run/postgresql -U postgres -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE \"$CHURN_DB_USER\" LOGIN" \
		-c "CREATE DATABASE \"$CHURN_DB_NAME\" OWNER \"$CHURN_DB_USER\""
	pg_ctl --pgdata "$PGDATA" --mode fast --wait stop
fi
exec postgres -D "$PGDATA" -c listen_addresses="$PGHOST" -p "$PGPORT" -k /var/run/postgresql
