# PostgreSQL for the compose stack's prediction log, from Debian's `postgresql` package (the one the
# tests start) on the project's base image: nothing comes from a public image registry.
#   docker build -f docker/postgres.Dockerfile -t churn-postgres .
#   docker run -v pgdata:/var/lib/churn-postgres -v ./passwords:/run/secrets:ro churn-postgres
# The first start runs initdb in $PGDATA and creates $CHURN_DB_NAME owned by $CHURN_DB_USER; every
# start gives each role its password from $CHURN_DB_PASSWORDS_DIR/<role> (scram-sha-256 over TCP, the
# superuser only through the container's own socket): docker/postgres-entrypoint.sh.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/postgresql/*/bin /usr/local/lib/pgbin \
 && mkdir -p /var/lib/churn-postgres /var/run/postgresql \
 && chown postgres:postgres /var/lib/churn-postgres /var/run/postgresql
COPY docker/postgres-entrypoint.sh /usr/local/bin/churn-postgres
ENV PATH=/usr/local/lib/pgbin:$PATH \
    PGDATA=/var/lib/churn-postgres/data \
    PGHOST=127.0.0.1 \
    PGPORT=5432 \
    CHURN_DB_USER=churn \
    CHURN_DB_NAME=churn \
    CHURN_DB_PASSWORDS_DIR=/run/secrets
USER postgres
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
  CMD ["sh", "-c", "pg_isready -h \"$PGHOST\" -p \"$PGPORT\" -U \"$CHURN_DB_USER\" -d \"$CHURN_DB_NAME\""]
CMD ["sh", "/usr/local/bin/churn-postgres"]
