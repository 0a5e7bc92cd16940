#!/usr/bin/env bash
# Healthy baseline: busy but unstalled server plus the classic false
# positives -- idle, idle in transaction and pg_sleep sessions all sleep in
# epoll_wait like a lock waiter does, and none of them is a stall.
set -euo pipefail

PGS_SELF=healthy
PGS_SCENARIO=healthy
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  For <duration> seconds: 'pgbench -c 4 -j 2 -S -P 1' (read-only) plus
       an idle session, an idle-in-transaction session (BEGIN; SELECT 1;) and
       a session in 'SELECT pg_sleep(<duration>)'.
       Prints IDLE_PID=, IDLE_TX_PID=, SLEEP_PID= (backend pids), PGBENCH_PID=,
       BACKEND_PIDS= (comma-separated pgbench client backends) and PGBENCH_LOG=.
stop   End pgbench and all sessions.

Environment:
  PGSTALL_HEALTHY_SECONDS  (default 30)  duration of the load and sessions
  PGSTALL_SCENARIO_TIMEOUT (default 120) safety timeout: undone after that
                           long even if 'stop' is never called
Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo env PGSTALL_HEALTHY_SECONDS=20 scripts/scenario/healthy.sh start)"
  sudo scripts/pgcluster.sh psql -c "SELECT pid, state, wait_event FROM pg_stat_activity WHERE pid IN (\$IDLE_PID, \$IDLE_TX_PID, \$SLEEP_PID)"
  sudo scripts/scenario/healthy.sh stop
EOF
}

scenario_start() {
    local t d idle idle_tx sleeper pgbench_pid backends before log PGS_AS_PG
    t="$(pgs_scenario_timeout)"
    d="${PGSTALL_HEALTHY_SECONDS:-30}"
    if ! pgs_is_uint "$d" || ((d == 0)); then
        pgs_die "PGSTALL_HEALTHY_SECONDS must be a positive integer, got '$d'"
    fi
    pgs_watchdog healthy "$t" "$(realpath "$0")"

    # Sessions end on their own after <duration>: their FIFO keeper exits.
    idle="$(pgs_session healthy idle "$d")"
    idle_tx="$(pgs_session healthy idle_tx "$d")"
    pgs_send healthy idle_tx 'BEGIN; SELECT 1;'
    sleeper="$(pgs_session healthy sleep "$d")"
    pgs_send healthy sleep "SELECT pg_sleep($d);"

    log="$PGSTALL_SCENARIO_DIR/healthy.pgbench.log"
    : >"$log"
    before="$(pgs_pgbench_backends_now)"
    pgs_as_pg_prefix
    pgbench_pid="$(pgs_spawn healthy "$log" "${PGS_AS_PG[@]}" \
        "$(pgs_bindir)/pgbench" -n -S -c 4 -j 2 -T "$d" -P 1 "$PGSTALL_DB")"
    backends="$(pgs_new_pgbench_backends healthy 4 "$before")" ||
        pgs_die "pgbench did not connect; its log: $(tail -n 5 "$log" 2>/dev/null | tr '\n' ' ');" \
            "sessions: $(pgs_sql_value "SELECT string_agg(coalesce(application_name, '?') || ':' || coalesce(state, '-'), ' ') FROM pg_stat_activity WHERE backend_type = 'client backend'")"

    pgs_wait_until 10 "idle session $idle" pgs_activity_is "$idle" "state = 'idle'"
    pgs_wait_until 10 "idle-in-transaction session $idle_tx" \
        pgs_activity_is "$idle_tx" "state = 'idle in transaction'"
    pgs_wait_until 10 "pg_sleep session $sleeper" \
        pgs_activity_is "$sleeper" "wait_event = 'PgSleep'"
    pgs_log "healthy load for ${d}s (safety timeout ${t}s)"
    pgs_kv IDLE_PID "$idle"
    pgs_kv IDLE_TX_PID "$idle_tx"
    pgs_kv SLEEP_PID "$sleeper"
    pgs_kv PGBENCH_PID "$pgbench_pid"
    pgs_kv BACKEND_PIDS "$backends"
    pgs_kv PGBENCH_LOG "$log"
}

pgs_scenario_main "$@"
