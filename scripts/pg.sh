#!/usr/bin/env bash
# A private PostgreSQL server for the tests and for local development, from Debian's
# `postgresql` package (scripts/setup.sh installs it). It never touches the system cluster:
# its own data directory, 127.0.0.1 only (no other interface), the unix socket inside the data
# directory, trust authentication (acceptable because only local users can reach it), and
# durability switched off (fsync=off: a test server, not a place for data you want to keep).
# Run as root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
#
#   scripts/pg.sh start    create the cluster if needed and start it (no-op if running); prints the URL
#   scripts/pg.sh url      the admin URL: postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/pg.sh status   says whether it runs; exit status 0 only if it does
#   scripts/pg.sh pause    stop the server, keep the data (`start` resumes it): outage tests
#   scripts/pg.sh stop     stop the server and delete the data directory (always cleans up)
#
# PG_DIR (default target/pg) and PG_PORT (default 55432, or the next free port) override where.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'pg.sh: %s\n' "$*" >&2; exit 1; }

BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$BIN" ]; then
  BIN=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
fi
if ! { [ -x "$BIN/pg_ctl" ] && [ -x "$BIN/initdb" ]; }; then
  die "PostgreSQL is not installed (run scripts/setup.sh)"
fi

as_pg() { # runs a command as the user that owns the cluster
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

PG_DIR=${PG_DIR:-$PWD/target/pg}
case "$PG_DIR" in /*) ;; *) PG_DIR="$PWD/$PG_DIR" ;; esac
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$(dirname "$PG_DIR")" 2>/dev/null; then
  # The checkout is not reachable by the postgres user (e.g. under /root): keep the cluster in
  # /tmp instead, under a name derived from the requested directory so every call finds it.
  PG_DIR="/tmp/pg-$(printf '%s' "$PG_DIR" | cksum | cut -d' ' -f1)"
fi
DATA="$PG_DIR/data"
PORT_FILE="$PG_DIR/port"

running() { [ -f "$DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

url() {
  [ -f "$PORT_FILE" ] || die "no cluster in $PG_DIR (run scripts/pg.sh start)"
  printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$(cat "$PORT_FILE")"
}

start() {
  if running; then url; return; fi
  mkdir -p "$PG_DIR"
  chmod 700 "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PG_DIR"; fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale \
      --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# scripts/pg.sh: a private test server
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DATA'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  local port=${PG_PORT:-}
  if [ -z "$port" ] && [ -f "$PORT_FILE" ] && ! port_in_use "$(cat "$PORT_FILE")"; then
    port=$(cat "$PORT_FILE")
  fi
  if [ -z "$port" ]; then
    port=55432
    while port_in_use "$port"; do
      port=$((port + 1))
      [ "$port" -lt 55532 ] || die "no free port from 55432 to 55531"
    done
  fi
  port_in_use "$port" && die "port $port is already in use"
  printf '%s\n' "$port" >"$PORT_FILE.tmp" && mv "$PORT_FILE.tmp" "$PORT_FILE"
  chmod 644 "$PORT_FILE"
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$PG_DIR/server.log" -w -t 60 -o "-p $port" start >/dev/null \
    || { tail -n 20 "$PG_DIR/server.log" >&2 || true; die "the server did not start"; }
  url
}

pause() {
  if running; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null; fi
}

stop() {
  if [ -f "$DATA/PG_VERSION" ]; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  # Delete only what looks like ours.
  if [ -d "$PG_DIR" ] && { [ -f "$DATA/PG_VERSION" ] || [ -f "$PORT_FILE" ] || [ -z "$(ls -A "$PG_DIR")" ]; }; then
    rm -rf "$PG_DIR"
  fi
}

case "${1:-}" in
  start) start ;;
  url) url ;;
  status)
    if running; then echo "running: $(url)"; else echo "not running ($PG_DIR)"; exit 1; fi ;;
  pause) pause ;;
  stop) stop ;;
  *) die "usage: scripts/pg.sh start|url|status|pause|stop" ;;
esac
