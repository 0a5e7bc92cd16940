#!/usr/bin/env bash
# A hot loop of several syscalls: one backend calls pg_read_file() on the same
# small file as fast as it can -- openat, newfstatat, lseek, read, read, close
# again and again, spread over five syscalls, no progress.
set -euo pipefail

PGS_SELF=readloop
PGS_SCENARIO=readloop
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  One session runs a PL/pgSQL loop of pg_read_file('PG_VERSION') (a path
       relative to the data directory) until <timeout> seconds have passed.
       Each call is openat, newfstatat, lseek, read (3 bytes), read (0:
       end of file), close: read 33 %, the four others 17 % each (~85,000
       calls, ~500,000 syscalls a second measured here, untraced). Prints
       LOOP_PID= (backend pid) and LOOP_FILE=.
stop   Terminate the backend and its session.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): the loop's deadline
and the safety timeout. Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/readloop.sh start)"
  sudo timeout -s INT 1 strace -p "\$LOOP_PID" 2>&1 | head -12
  sudo scripts/scenario/readloop.sh stop
EOF
}

scenario_start() {
    local t pid
    t="$(pgs_scenario_timeout)"
    pgs_watchdog readloop "$t" "$(realpath "$0")"
    pid="$(pgs_session readloop loop "$((t + 10))")"
    # clock_timestamp() reads the vDSO clock: the only syscalls are the call's.
    pgs_send readloop loop "DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '$t seconds';
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    PERFORM pg_read_file('PG_VERSION');
  END LOOP;
END \$\$;"
    # Running the loop, on CPU: no wait event.
    pgs_wait_until 10 "backend $pid running the loop" \
        pgs_activity_is "$pid" "state = 'active' AND query LIKE 'DO%' AND wait_event IS NULL"
    pgs_log "backend $pid reading PG_VERSION in a loop for ${t}s"
    pgs_kv LOOP_PID "$pid"
    pgs_kv LOOP_FILE "$(pgs_pgdata)/PG_VERSION"
}

pgs_scenario_main "$@"
