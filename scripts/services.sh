#!/usr/bin/env bash
# Throwaway services the archive tests run against: PostgreSQL (Debian's server binaries, a fresh
# cluster in a temporary folder, loopback only) and a Dask scheduler with two worker processes.
#   eval "$(bash scripts/services.sh start)"   # prints the export lines for the test run
#   bash scripts/services.sh stop
# Nothing is left behind: stop removes the cluster folder and ends the Dask processes.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${HINGE_SERVICES_DIR:-/tmp/hinge-services-$(id -u)}
PG_PORT=${HINGE_PG_PORT:-55432}
DASK_PORT=${HINGE_DASK_PORT:-58786}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_pg() {
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || { echo "services: no PostgreSQL server binaries" >&2; return 1; }
  mkdir -p "$STATE/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$STATE/pg"
  as_pg "$PG_BIN/initdb" -D "$STATE/pg/data" -A trust -U postgres >"$STATE/pg/initdb.log" 2>&1
  as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w \
    -o "-k $STATE/pg -c listen_addresses=127.0.0.1 -p $PG_PORT -c fsync=off" start >/dev/null
  echo "export HINGE_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
}

start_dask() {
  mkdir -p "$STATE/dask"
  # a test cluster idles most of the run: Dask's defaults (profiler sampling every 10 ms, event-loop tick every
  # 20 ms, memory and system monitors) cost 2.5 CPU-s per 30 s idle, 8 % of a core beside the tests on 2 cores;
  # these settings: 0.3 CPU-s per 30 s. Nothing the tests read depends on them.
  export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s \
    DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL=5s DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL=1s
  nohup .venv/bin/dask scheduler --host 127.0.0.1 --port "$DASK_PORT" --dashboard-address :0 \
    >"$STATE/dask/scheduler.log" 2>&1 &
  echo $! >"$STATE/dask/scheduler.pid"
  nohup .venv/bin/dask worker "tcp://127.0.0.1:$DASK_PORT" --nworkers 2 --nthreads 1 --no-dashboard \
    --local-directory "$STATE/dask" >"$STATE/dask/worker.log" 2>&1 &
  echo $! >"$STATE/dask/worker.pid"
  for _ in $(seq 1 100); do grep -q "Starting established connection" "$STATE/dask/worker.log" 2>/dev/null \
    && [ "$(grep -c 'Starting established connection' "$STATE/dask/worker.log")" -ge 2 ] && break; sleep 0.1; done
  echo "export HINGE_TEST_DASK=tcp://127.0.0.1:$DASK_PORT"
}

stop() {
  if [ -d "$STATE/pg/data" ]; then as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  local pids=() f pid
  for f in "$STATE"/dask/worker.pid "$STATE"/dask/scheduler.pid; do
    if [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; then pids+=("$(cat "$f")"); fi
  done
  rm -rf "$STATE"
  # before a start: the old scheduler's port is free once it has gone (~1-2 s after the signal); an
  # orphan nobody reaps stays a zombie ('Z'), gone as far as the port is concerned. After a run: not waited for
  [ "${1:-}" = wait ] || return 0
  for _ in $(seq 1 60); do
    local alive=0
    for pid in "${pids[@]}"; do
      case "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" in ""|Z) ;; *) alive=1 ;; esac
    done
    [ "$alive" = 1 ] || break
    sleep 0.05
  done
}

start() {
  stop wait
  mkdir -p "$STATE"
  # Dask's scheduler and workers start while PostgreSQL's cluster is made (each ~1 s of waiting)
  start_dask >"$STATE/dask.env" &
  local dask_job=$!
  if ! start_pg; then
    wait "$dask_job" || true
    stop
    return 1
  fi
  wait "$dask_job"
  cat "$STATE/dask.env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
