#!/usr/bin/env bash
# Hot syscall loop: one backend calls pg_stat_file() on the same file as fast
# as it can -- many syscalls a second on one syscall number, no progress.
set -euo pipefail

PGS_SELF=hotloop
PGS_SCENARIO=hotloop
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  One session runs a PL/pgSQL loop on the same file until <timeout>
       seconds have passed. Prints HOT_PID= (backend pid) and HOT_KIND=.
stop   Terminate the backend and its session.

Environment:
  PGSTALL_SCENARIO_TIMEOUT (default 120 s): the loop's deadline and the
      safety timeout.
  PGSTALL_HOTLOOP_KIND (default stat):
      stat  pg_stat_file('postgresql.conf'): 1 syscall per call, newfstatat
            100 %, same path, same result (~170k syscalls/s measured here)
      read  pg_read_binary_file('postgresql.conf', 0, 1): openat, newfstatat,
            lseek, read, close, 20 % each (~390k syscalls/s measured here)
Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/hotloop.sh start)"
  sudo timeout -s INT 2 strace -c -p "\$HOT_PID"
  sudo scripts/scenario/hotloop.sh stop
EOF
}

scenario_start() {
    local t pid kind call
    t="$(pgs_scenario_timeout)"
    kind="${PGSTALL_HOTLOOP_KIND:-stat}"
    case "$kind" in
    stat) call="pg_stat_file('postgresql.conf')" ;;
    read) call="pg_read_binary_file('postgresql.conf', 0, 1)" ;;
    *) pgs_die "PGSTALL_HOTLOOP_KIND must be 'stat' or 'read', got '$kind'" ;;
    esac
    pgs_watchdog hotloop "$t" "$(realpath "$0")"
    pid="$(pgs_session hotloop hot "$((t + 10))")"
    # clock_timestamp() reads the vDSO clock: the only syscalls are the call's.
    pgs_send hotloop hot "DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '$t seconds';
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    PERFORM $call;
  END LOOP;
END \$\$;"
    pgs_wait_until 10 "backend $pid running the loop" \
        pgs_activity_is "$pid" "state = 'active' AND query LIKE 'DO%'"
    pgs_log "backend $pid spinning on $call for ${t}s"
    pgs_kv HOT_PID "$pid"
    pgs_kv HOT_KIND "$kind"
}

pgs_scenario_main "$@"
