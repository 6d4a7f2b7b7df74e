#!/usr/bin/env bash
# A throwaway PostgreSQL server for the database tests.
#
#   eval "$(.ci/postgres.sh start)"   # prints export lines: CRM_TEST_PG_URL, CRM_TEST_PG_DIR
#   make test
#   .ci/postgres.sh stop              # stops the server and deletes its data folder
#
# `start` installs Debian's postgresql package when no server binaries are found, creates a new
# cluster in a temporary folder (never the system's own cluster), starts it on a free loopback
# port with a random password for its one user, and creates the database the tests use. The
# cluster trades durability for speed (fsync off): it holds nothing worth keeping. Progress goes
# to standard error, so that standard output holds only the lines to eval.
set -euo pipefail

server_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_server() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "postgres.sh: installing postgresql from the distribution's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no package lists yet: update only when the first attempt fails.
  $sudo apt-get install -y -q --no-install-recommends postgresql >&2 \
    || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q --no-install-recommends postgresql >&2; }
}

start() {
  local bin dir port password as_user=()
  bin="$(server_bin)"
  if [ -z "$bin" ]; then
    install_server
    bin="$(server_bin)"
  fi
  [ -x "$bin/initdb" ] || { echo "postgres.sh: no initdb found under /usr/lib/postgresql" >&2; exit 1; }
  dir="$(mktemp -d "${TMPDIR:-/tmp}/crm-pg.XXXXXX")"
  if [ "$(id -u)" -eq 0 ]; then  # initdb and postgres refuse to run as root
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres: "$dir"
    as_user=(runuser -u postgres --)
  fi
  password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  (umask 077 && printf '%s\n' "$password" > "$dir/pwfile")
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/pwfile"
  "${as_user[@]}" "$bin/initdb" -D "$dir/data" -U crm_test --pwfile="$dir/pwfile" -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions >/dev/null
  rm -f "$dir/pwfile"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
    "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  "${as_user[@]}" "$bin/createdb" -h "$dir" -p "$port" -U crm_test crm_test
  echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir" >&2
  echo "export CRM_TEST_PG_URL='postgresql://crm_test:$password@127.0.0.1:$port/crm_test'"
  echo "export CRM_TEST_PG_DIR='$dir'"
}

stop() {
  local dir="${1:-${CRM_TEST_PG_DIR:-}}" bin as_user=()
  [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "postgres.sh: no server folder given (CRM_TEST_PG_DIR)" >&2; exit 1; }
  bin="$(server_bin)"
  [ "$(id -u)" -ne 0 ] || as_user=(runuser -u postgres --)
  "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop [DATA_FOLDER]" >&2; exit 2 ;;
esac
