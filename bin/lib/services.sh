# shellcheck shell=bash
# Throwaway PostgreSQL and Redis for the test suite.  Source it after common.sh.
#
# Both listen on 127.0.0.1 only, on private ports, and keep nothing worth keeping (fsync off, no Redis
# persistence).  Starting is idempotent: a server that already answers on the port is reused, so a
# second `bin/cirrostack test` (or a colleague's) costs nothing.  They are not stopped on exit.
# Daemons are started with fd 8 and 9 closed: the callers hold flock locks on them, and a daemon that
# inherited such a fd would hold the lock for as long as it runs.

CS_PG_PORT=${CS_PG_PORT:-55432}
CS_PG_DB=${CS_PG_DB:-cirrostack}
CS_REDIS_PORT=${CS_REDIS_PORT:-56379}

cs_pg_bindir() {  # Debian keeps initdb/pg_ctl off PATH, in /usr/lib/postgresql/<major>/bin
  find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1
}

# cs_start_postgres DIR: cluster in DIR/data, socket + log in DIR.  Returns 1 (after printing the log
# tail) when it cannot be started.
cs_start_postgres() {
  local dir=$1 bin data=$1/data log=$1/postgres.log
  bin=$(cs_pg_bindir)
  [ -n "$bin" ] || { cs_log "PostgreSQL server binaries not found (package postgresql)"; return 1; }
  local -a as=()     # initdb and postgres refuse to run as root: use the postgres account then
  cs_is_root && as=(runuser -u postgres --)

  if ! "$bin/pg_isready" -q -t 5 -h 127.0.0.1 -p "$CS_PG_PORT"; then
    mkdir -p "$dir"
    cs_is_root && chown postgres: "$dir"
    local major
    major=$(basename "$(dirname "$bin")")
    if [ "$(cat "$data/PG_VERSION" 2>/dev/null)" != "$major" ]; then
      # No cluster yet (or one of another major version): make a fresh one; it is disposable.
      rm -rf "$data"
      "${as[@]}" "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        > "$dir/initdb.log" 2>&1 || { cs_log_tail "$dir/initdb.log"; return 1; }
    fi
    cs_pg_drop_stale_pidfile "$data" "$dir"
    "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 30 start -o \
      "-c listen_addresses=127.0.0.1 -p $CS_PG_PORT -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null 8>&- 9>&- || { cs_log "PostgreSQL failed to start"; cs_log_tail "$log"; return 1; }
    cs_log "started PostgreSQL on 127.0.0.1:$CS_PG_PORT (data in $data)"
  else
    cs_log "reusing PostgreSQL on 127.0.0.1:$CS_PG_PORT"
  fi
  # The database the tests' DATABASE_URL names (pytest-django creates test_<name> from it).
  export PGCONNECT_TIMEOUT=10
  if ! "$bin/psql" -h 127.0.0.1 -p "$CS_PG_PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$CS_PG_DB'" | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$CS_PG_PORT" -U postgres "$CS_PG_DB" ||
      { cs_log "createdb $CS_PG_DB failed"; cs_log_tail "$log"; return 1; }
  fi
}

# A postmaster.pid (or socket lock) left by a server that died with the machine names a pid that may now
# belong to another process; postgres then refuses to start ("Is another postmaster running?").
cs_pg_drop_stale_pidfile() {
  local data=$1 dir=$2 pid
  [ -f "$data/postmaster.pid" ] || return 0
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then return 0; fi
  rm -f "$data/postmaster.pid" "$dir/.s.PGSQL.$CS_PG_PORT" "$dir/.s.PGSQL.$CS_PG_PORT.lock"
}

cs_redis_ping() { [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$CS_REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

# cs_start_redis DIR: pid file and log in DIR.
cs_start_redis() {
  local dir=$1 _
  command -v redis-server >/dev/null || { cs_log "redis-server not found (package redis-server)"; return 1; }
  if cs_redis_ping; then cs_log "reusing Redis on 127.0.0.1:$CS_REDIS_PORT"; return 0; fi
  if cs_tcp_open "$CS_REDIS_PORT"; then
    cs_log "port $CS_REDIS_PORT is taken by something that does not answer Redis PING"; return 1
  fi
  mkdir -p "$dir"
  : > "$dir/redis.log"
  redis-server --bind 127.0.0.1 --port "$CS_REDIS_PORT" --save '' --appendonly no \
    --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" 8>&- 9>&- ||
    { cs_log "redis-server failed to start"; cs_log_tail "$dir/redis.log"; return 1; }
  for _ in $(seq 75); do
    cs_redis_ping && { cs_log "started Redis on 127.0.0.1:$CS_REDIS_PORT"; return 0; }
    sleep 0.2
  done
  cs_log "Redis did not answer PING within 15 s"; cs_log_tail "$dir/redis.log"; return 1
}
