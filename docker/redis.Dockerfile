# Redis 7 for the compose stack's online feature store (docs/features.md), from Debian's
# `redis-server` package (the one the tests start) on the project's base image: nothing comes from
# a public image registry.
#   docker build -f docker/redis.Dockerfile -t churn-redis .
#   docker run -v ./secrets:/run/secrets:ro churn-redis
# Its users come from the ACL file /run/secrets/users.acl (deploy/compose_secrets.py: the default
# user with a SHA-256 of a generated password, no dangerous commands; no `requirepass` in a
# variable); it binds $HOST (127.0.0.1) only. The health check signs in with the password file beside it.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/churn-redis && chown redis:redis /var/lib/churn-redis
ENV HOST=127.0.0.1 \
    REDIS_PORT=6379
USER redis
WORKDIR /var/lib/churn-redis
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=5 \
  CMD ["sh", "-c", "REDISCLI_AUTH=\"$(cat /run/secrets/password)\" redis-cli -h \"$HOST\" -p \"$REDIS_PORT\" ping | grep -qx PONG"]
# append-only file: materialize is incremental (the registry keeps its watermark), so a write Redis
# lost would not be written again by the next run
CMD ["sh", "-c", "exec redis-server --bind \"$HOST\" --port \"$REDIS_PORT\" --protected-mode yes --aclfile /run/secrets/users.acl --dir /var/lib/churn-redis --save '300 1' --appendonly yes --appendfsync everysec --maxmemory 512mb --maxmemory-policy noeviction"]
