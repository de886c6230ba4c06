#!/usr/bin/env bash
# Make sure the services the integration tests use are up on this machine:
#   PostgreSQL on 127.0.0.1:5432, trust auth for local connections, database "test";
#   Redis on 127.0.0.1:6379 (nothing kept on disk).
# A service that answers is left alone; one that is installed but stopped is started; a missing
# one is installed from Debian's packages. Safe to run again and again. Installing and starting
# PostgreSQL need root (or password-less sudo). Exits non-zero when a service cannot be made
# ready. See docs/operations.md.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
PG_DATABASE="test"
PG_USER=postgres
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WAIT_SECONDS=30
HBA_MARKER="# platform-core scripts/services.sh: trust local connections (test machines only)"

say() { printf 'services: %s\n' "$*"; }
die() {
  printf 'services: ERROR: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "needs root (or sudo) to run: $*"
  fi
}

port_open() {
  # bash's /dev/tcp: a connect without any client installed; `timeout` guards a black hole.
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

wait_until() {
  local what=$1
  shift
  local second
  for ((second = 0; second < WAIT_SECONDS; second++)); do
    if "$@"; then
      return 0
    fi
    sleep 1
  done
  die "$what did not answer within ${WAIT_SECONDS}s"
}

APT_UPDATED=no
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "cannot install $*: no apt-get; install it by hand"
  if [ "$APT_UPDATED" = no ]; then
    say "apt-get update"
    as_root apt-get update
    APT_UPDATED=yes
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# -- PostgreSQL -------------------------------------------------------------------------------

postgres_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
  else
    port_open "$PG_HOST" "$PG_PORT"
  fi
}

pg_version() {
  # The newest version with a "main" cluster, e.g. 15.
  local dir
  for dir in /etc/postgresql/*/main; do
    if [ -d "$dir" ]; then
      basename "$(dirname "$dir")"
    fi
  done | sort -V | tail -n 1
}

pg_trust_local() {
  local version=$1
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if as_root grep -qF "$HBA_MARKER" "$hba"; then
    return 0
  fi
  say "PostgreSQL: trusting local and 127.0.0.1/::1 connections in $hba"
  local staged
  staged=$(mktemp)
  # pg_hba.conf is read top down and the first match wins: the trust lines go first.
  {
    printf '%s\n' "$HBA_MARKER" \
      "local   all   all                 trust" \
      "host    all   all   127.0.0.1/32  trust" \
      "host    all   all   ::1/128       trust" \
      ""
    as_root cat "$hba"
  } >"$staged"
  as_root cp "$staged" "$hba" # cp onto the existing file keeps its owner and mode
  rm -f "$staged"
}

pg_cluster() {
  as_root pg_ctlcluster --skip-systemctl-redirect "$1" main "$2"
}

ensure_postgres_running() {
  if postgres_up; then
    say "PostgreSQL: already running on $PG_HOST:$PG_PORT"
    return 0
  fi
  local installed_now=no version
  version=$(pg_version)
  if [ -z "$version" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "PostgreSQL: not installed"
    apt_install postgresql
    installed_now=yes
    version=$(pg_version)
    [ -n "$version" ] || die "PostgreSQL installed but no cluster found under /etc/postgresql"
  fi
  if [ "$installed_now" = yes ]; then
    pg_trust_local "$version"
  fi
  # The package's own start script may already have started the new cluster.
  if postgres_up; then
    pg_cluster "$version" reload
  else
    say "PostgreSQL: starting cluster $version/main"
    pg_cluster "$version" start
  fi
  wait_until "PostgreSQL on $PG_HOST:$PG_PORT" postgres_up
  say "PostgreSQL: running on $PG_HOST:$PG_PORT"
}

ensure_test_database() {
  if ! command -v psql >/dev/null 2>&1; then
    apt_install postgresql-client
  fi
  local psql=(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -w -X -A -t -q
    -v ON_ERROR_STOP=1)
  if ! "${psql[@]}" -c "SELECT 1" >/dev/null 2>&1; then
    die "PostgreSQL answers but refuses '$PG_USER' without a password on $PG_HOST:$PG_PORT;" \
      "trust local connections in pg_hba.conf (docs/operations.md)"
  fi
  local exists
  exists=$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")
  if [ "$exists" = 1 ]; then
    say "PostgreSQL: database '$PG_DATABASE' exists"
  else
    "${psql[@]}" -c "CREATE DATABASE \"$PG_DATABASE\""
    say "PostgreSQL: created database '$PG_DATABASE'"
  fi
}

# -- Redis ------------------------------------------------------------------------------------

redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
  else
    port_open "$REDIS_HOST" "$REDIS_PORT"
  fi
}

ensure_redis_running() {
  if redis_up; then
    say "Redis: already running on $REDIS_HOST:$REDIS_PORT"
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    say "Redis: not installed"
    apt_install redis-server
  fi
  # The package's own start script may already have started it.
  if ! redis_up; then
    say "Redis: starting redis-server on $REDIS_HOST:$REDIS_PORT"
    # Tests need no persistence: nothing is saved, and the working dir is a scratch one.
    redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
      --save "" --appendonly no --dir "${TMPDIR:-/tmp}"
  fi
  wait_until "Redis on $REDIS_HOST:$REDIS_PORT" redis_up
  say "Redis: running on $REDIS_HOST:$REDIS_PORT"
}

main() {
  ensure_postgres_running
  ensure_test_database
  ensure_redis_running
  say "ready: postgresql+psycopg://$PG_USER@$PG_HOST:$PG_PORT/$PG_DATABASE" \
    "and redis://$REDIS_HOST:$REDIS_PORT/0"
}

main "$@"
