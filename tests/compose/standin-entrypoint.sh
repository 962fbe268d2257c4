#!/bin/sh
# The stand-in image's entrypoint, behaving as the official images do for what
# docker-compose.yml asks of them: `postgres` initialises a cluster from POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB on first start and serves on every address, as the postgres
# image's entrypoint does; anything else runs as given (redis-server, nginx, authbench).
set -e
if [ "$1" != postgres ]; then
    exec "$@"
fi
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    su postgres -s /bin/sh -c "initdb -D '$PGDATA' -U '$user' --pwfile='$pwfile' --auth-local=trust --auth-host=scram-sha-256" >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    database=${POSTGRES_DB:-$user}
    if [ "$database" != postgres ]; then
        su postgres -s /bin/sh -c "pg_ctl -D '$PGDATA' -w -o '-c listen_addresses=' start" >/dev/null
        su postgres -s /bin/sh -c "psql -q -U '$user' -d postgres -c 'CREATE DATABASE \"$database\"'"
        su postgres -s /bin/sh -c "pg_ctl -D '$PGDATA' -w stop" >/dev/null
    fi
fi
exec su postgres -s /bin/sh -c "exec postgres -D '$PGDATA' -c listen_addresses='*'"
