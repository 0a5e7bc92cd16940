#!/usr/bin/env bash
# Negative twin of the hot loop and I/O-wait scenarios: a backend busy with
# real work (sequential scans of a table bigger than shared_buffers, so
# every pass re-reads it through pread64) that must NOT be called a stall.
set -euo pipefail

PGS_SELF=seqscan
PGS_SCENARIO=seqscan
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# ~1.6M rows of ~240 bytes: about 400 MB, 3x shared_buffers (128MB).
BIG_ROWS=1600000
BIG_MIN_BYTES=$((350 * 1024 * 1024))

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  Create table big (~400 MB, UNLOGGED so it writes no WAL) if it is absent
       or too small -- this can take a while and happens before anything is
       printed -- then one session runs 'SELECT count(*) FROM big' in a loop
       (PL/pgSQL, parallel query off so the backend itself reads) until
       <timeout> seconds have passed. Prints SCAN_PID= (backend pid).
stop   Terminate the backend and its session (the table is kept for next time).

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): the loop's deadline
and the safety timeout. Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/seqscan.sh start)"
  sudo timeout -s INT 2 strace -c -p "\$SCAN_PID"
  sudo scripts/scenario/seqscan.sh stop
EOF
}

ensure_big_table() {
    local size
    size="$(pgs_sql_value "SELECT coalesce(pg_relation_size(to_regclass('big')), -1)")"
    [[ -n "$size" ]] || pgs_die "could not query the cluster"
    if ((size >= BIG_MIN_BYTES)); then
        return 0
    fi
    pgs_log "creating table big ($BIG_ROWS rows, ~400 MB); this takes a while"
    # Not time-boxed like pgs_sql: the load legitimately takes tens of seconds.
    timeout 900 "$PGSTALL_SCRIPTS_DIR/pgcluster.sh" psql \
        -c 'DROP TABLE IF EXISTS big' \
        -c "CREATE UNLOGGED TABLE big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, $BIG_ROWS) g" \
        -c 'VACUUM ANALYZE big' >&2
    size="$(pgs_sql_value "SELECT pg_relation_size('big')")"
    ((size >= BIG_MIN_BYTES)) || pgs_die "table big is only $size bytes"
    pgs_log "table big is $((size / 1024 / 1024)) MB"
}

scenario_start() {
    local t pid
    t="$(pgs_scenario_timeout)"
    # Before the watchdog: the load time must not eat into the scan's time.
    ensure_big_table
    pgs_watchdog seqscan "$t" "$(realpath "$0")"
    pid="$(pgs_session seqscan scan "$((t + 10))")"
    pgs_send seqscan scan "SET max_parallel_workers_per_gather = 0;
DO \$\$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '$t seconds';
  n bigint;
  passes int := 0;
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    SELECT count(*) INTO n FROM big;
    passes := passes + 1;
  END LOOP;
  RAISE NOTICE 'seqscan done: % passes', passes;
END \$\$;"
    pgs_wait_until 10 "backend $pid scanning" \
        pgs_activity_is "$pid" "state = 'active' AND query LIKE 'DO%'"
    pgs_log "backend $pid scanning big for ${t}s"
    pgs_kv SCAN_PID "$pid"
}

pgs_scenario_main "$@"
