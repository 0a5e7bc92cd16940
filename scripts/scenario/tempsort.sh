#!/usr/bin/env bash
# Healthy: a big sort spilling to temp files (work_mem 64kB over
# pgbench_accounts), repeated for a while: I/O-heavy work that progresses.
set -euo pipefail

PGS_SELF=tempsort
PGS_SCENARIO=tempsort
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  SORTER: SET work_mem = '64kB'; a sort of pgbench_accounts by filler,
       run PGSTALL_TEMPSORT_RUNS (default 100) times (2-10 s each here:
       it sorts for longer than any test watches it; stop cancels it).
       Returns once its temp files are there (pg_ls_tmpdir()).
       Prints SORTER_PID=.
stop   Cancel it, end the session.
EOF
}

temp_files() { pgs_sql_value "SELECT count(*) FROM pg_ls_tmpdir()"; }

scenario_start() {
    local t sorter runs q sql i
    t="$(pgs_scenario_timeout)"
    runs="${PGSTALL_TEMPSORT_RUNS:-100}"
    pgs_watchdog tempsort "$t" "$(realpath "$0")"
    sorter="$(pgs_session tempsort sorter "$((t + 10))")"
    q="SELECT count(*) FROM (SELECT aid FROM pgbench_accounts ORDER BY filler DESC, abalance, bid) s;"
    sql="SET work_mem = '64kB'; SET max_parallel_workers_per_gather = 0;"
    for ((i = 0; i < runs; i++)); do sql+=" $q"; done
    pgs_send tempsort sorter "$sql"
    pgs_wait_until 30 "sorter $sorter to write temp files" \
        test "$(temp_files)" -gt 0
    pgs_log "sorter $sorter spills to temp files"
    pgs_kv SORTER_PID "$sorter"
}

pgs_scenario_main "$@"
