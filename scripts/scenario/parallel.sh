#!/usr/bin/env bash
# Healthy: a parallel query whose leader only gathers (it takes no part in
# the scan), so it sits in IPC waits (ExecuteGather, MessageQueueReceive)
# for as long as its workers compute. Nothing here is a stall.
set -euo pipefail

PGS_SELF=parallel
PGS_SCENARIO=parallel
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  LEADER: one parallel aggregate over pgbench_accounts x 16 with a costly
       expression per row (20-40 s here: longer than any test watches it;
       stop cancels it), with 2 workers and
       parallel_leader_participation off, run PGSTALL_PARALLEL_RUNS (default 1)
       times. (Not in a DO block: PL/pgSQL runs its queries without
       parallelism.)
       Returns once pg_stat_activity shows parallel workers of the leader.
       Prints LEADER_PID= and WORKER_PIDS= (comma-separated).
stop   Cancel the query, end the session.
EOF
}

scenario_start() {
    local t leader runs workers q i sql
    t="$(pgs_scenario_timeout)"
    runs="${PGSTALL_PARALLEL_RUNS:-1}"
    pgs_watchdog parallel "$t" "$(realpath "$0")"
    leader="$(pgs_session parallel leader "$((t + 10))")"
    q="SELECT count(*) FROM pgbench_accounts, generate_series(1, 16) g WHERE length(md5(md5(aid::text || g::text) || filler)) > 0;"
    sql="SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off; SET jit = off;"
    for ((i = 0; i < runs; i++)); do sql+=" $q"; done
    pgs_send parallel leader "$sql"
    pgs_wait_until 15 "parallel workers of leader $leader" \
        test "$(pgs_sql_value "SELECT count(*) FROM pg_stat_activity WHERE leader_pid = $leader AND pid <> $leader")" -gt 0
    workers="$(pgs_sql_value "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE leader_pid = $leader AND pid <> $leader")"
    pgs_log "leader $leader gathers from workers $workers"
    pgs_kv LEADER_PID "$leader"
    pgs_kv WORKER_PIDS "$workers"
}

pgs_scenario_main "$@"
