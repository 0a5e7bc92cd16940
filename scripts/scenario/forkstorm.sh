#!/usr/bin/env bash
# A fork storm from PostgreSQL: pgbench opening a new connection for every
# read-only transaction (a backend forked, then exiting), and one backend
# running COPY ... TO PROGRAM 'cat >/dev/null' in a loop (a shell forked, exec'd and
# exiting each time). Every fork, exec and exit of a postgres process is a
# ring record for pgstall: with a tiny --ring-size the ring overflows
# (tests/integration/drops_test.cpp).
set -euo pipefail

PGS_SELF=forkstorm
PGS_SCENARIO=forkstorm
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  'pgbench -n -S -C -c 4 -j 2 -T <timeout>': a new connection for every
       transaction; and a session (superuser) running
       COPY (SELECT 1) TO PROGRAM 'cat >/dev/null' in a loop. Returns once the server
       has counted at least 50 new sessions (pg_stat_database.sessions) and
       the loop has run the program 200 times (a sequence it bumps).
       Prints PGBENCH_PID=, PGBENCH_LOG=, LOOP_PID= (the backend forking
       the shells), SESSIONS_PER_S= and PROGRAMS_PER_S= (rates while start
       waited).
stop   End pgbench (its backends end with their connections) and the loop.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): undone by itself
after that long even if 'stop' is never called. Needs scripts/pgcluster.sh up.
EOF
}

sessions_now() {
    pgs_sql_value "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
}

programs_now() {
    pgs_sql_value "SELECT last_value FROM pgstall_forkstorm_runs"
}

# At least N more than BEFORE, read with FN.
grown_by() { # FN BEFORE N
    local now
    now="$("$1")"
    pgs_is_uint "$now" && ((now - $2 >= $3))
}

scenario_start() {
    local t log pgbench_pid loop sessions0 programs0 sessions1 programs1 t0 t1 PGS_AS_PG
    t="$(pgs_scenario_timeout)"
    pgs_watchdog forkstorm "$t" "$(realpath "$0")"
    pgs_sql "SET client_min_messages = warning; DROP SEQUENCE IF EXISTS pgstall_forkstorm_runs; CREATE SEQUENCE pgstall_forkstorm_runs" >/dev/null
    sessions0="$(sessions_now)"
    pgs_is_uint "$sessions0" || pgs_die "cannot read pg_stat_database.sessions (PostgreSQL 14 or later): '$sessions0'"
    programs0=1
    t0="$(date +%s.%N)"

    loop="$(pgs_session forkstorm loop "$((t + 10))")"
    pgs_send forkstorm loop "DO \$\$ BEGIN LOOP PERFORM nextval('pgstall_forkstorm_runs'); COPY (SELECT 1) TO PROGRAM 'cat >/dev/null'; END LOOP; END \$\$;"
    log="$PGSTALL_SCENARIO_DIR/forkstorm.pgbench.log"
    : >"$log"
    pgs_as_pg_prefix
    pgbench_pid="$(pgs_spawn forkstorm "$log" "${PGS_AS_PG[@]}" \
        "$(pgs_bindir)/pgbench" -n -S -C -c 4 -j 2 -T "$t" "$PGSTALL_DB")"

    pgs_wait_until 30 "50 new sessions" grown_by sessions_now "$sessions0" 50 ||
        pgs_die "no connection storm; pgbench's log: $(tail -n 5 "$log" 2>/dev/null | tr '\n' ' ')"
    pgs_wait_until 30 "200 programs run by $loop" grown_by programs_now "$programs0" 200 ||
        pgs_die "the COPY TO PROGRAM loop does not run: $(cat "$PGSTALL_SCENARIO_DIR/forkstorm.loop.err" 2>/dev/null)"
    sessions1="$(sessions_now)"
    programs1="$(programs_now)"
    t1="$(date +%s.%N)"
    pgs_log "fork storm running: $((sessions1 - sessions0)) sessions and $((programs1 - programs0)) programs so far (safety timeout ${t}s)"
    pgs_kv PGBENCH_PID "$pgbench_pid"
    pgs_kv PGBENCH_LOG "$log"
    pgs_kv LOOP_PID "$loop"
    pgs_kv SESSIONS_PER_S "$(awk -v n="$((sessions1 - sessions0))" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')"
    pgs_kv PROGRAMS_PER_S "$(awk -v n="$((programs1 - programs0))" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')"
}

# The loop ends first: it holds the sequence the DROP needs.
scenario_stop_pre() {
    pgs_terminate_backends forkstorm
    pgs_sql "DROP SEQUENCE IF EXISTS pgstall_forkstorm_runs" >/dev/null 2>&1 || true
}

pgs_scenario_main "$@"
