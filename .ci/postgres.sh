#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the store tests.
#   bash .ci/postgres.sh start   installs Debian's server where missing, starts one, prints its URL
#   bash .ci/postgres.sh stop    stops the server the last start began
set -euo pipefail
state=/tmp/bertanno-pg.datadir

server_bin() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

as_server_user() {  # PostgreSQL refuses to run as root
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

case "${1:-start}" in
  start)
    bin=$(server_bin)
    data=$(mktemp -d /tmp/bertanno-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$data"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_server_user "'$bin/initdb' -D '$data/db' -A trust -U postgres >/dev/null"
    as_server_user "'$bin/pg_ctl' -D '$data/db' -l '$data/server.log' -w -o \"-p $port -k '$data' -c listen_addresses=127.0.0.1\" start >/dev/null"
    echo "$data" > "$state"
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -f "$state" ] || exit 0
    as_server_user "'$(server_bin)/pg_ctl' -D '$(cat "$state")/db' -m fast stop >/dev/null" || true
    rm -f "$state"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
