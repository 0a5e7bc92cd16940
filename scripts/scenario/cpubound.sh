#!/usr/bin/env bash
# CPU-bound long runner: one backend stays on CPU doing integer arithmetic
# in PL/pgSQL, with (almost) no syscalls; or, with PGSTALL_CPUBOUND_QUERY=sql,
# a plain SQL query the executor grinds through (a four-way cross join of
# pg_class, in shared buffers).
set -euo pipefail

PGS_SELF=cpubound
PGS_SCENARIO=cpubound
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  One session runs a pure-CPU PL/pgSQL loop (integer arithmetic only) for
       <timeout> seconds. Prints CPU_PID= (backend pid).
stop   Terminate the backend and its session.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): the loop's duration
and the safety timeout. PGSTALL_CPUBOUND_QUERY=sql: a cross-join SELECT
(statement_timeout = the timeout) instead of the PL/pgSQL loop.
Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/cpubound.sh start)"
  ps -o pid,stat,pcpu,args -p "\$CPU_PID"
  sudo scripts/scenario/cpubound.sh stop
EOF
}

scenario_start() {
    local t pid
    t="$(pgs_scenario_timeout)"
    pgs_watchdog cpubound "$t" "$(realpath "$0")"
    pid="$(pgs_session cpubound cpu "$((t + 10))")"
    # The deadline is checked once per 100k iterations; clock_timestamp()
    # reads the vDSO clock, so the loop makes no syscalls at all.
    local like="DO%"
    if [[ "${PGSTALL_CPUBOUND_QUERY:-plpgsql}" == sql ]]; then
        like="SELECT count(*) FROM pg_class a%"
        pgs_send cpubound cpu "SET statement_timeout = '${t}s';"
        pgs_send cpubound cpu "SELECT count(*) FROM pg_class a, pg_class b, pg_class c, pg_class d;"
    else
    pgs_send cpubound cpu "DO \$\$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '$t seconds';
  acc bigint := 1;
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    FOR i IN 1..100000 LOOP
      acc := (acc * 31 + i) % 1000003;
    END LOOP;
  END LOOP;
  RAISE NOTICE 'cpubound done: %', acc;
END \$\$;"
    fi
    if ! pgs_wait_until 20 "backend $pid running the loop" \
        pgs_activity_is "$pid" "state = 'active' AND query LIKE '$like'"; then
        pgs_log "psql stderr: $(cat "$PGSTALL_SCENARIO_DIR/cpubound.cpu.err" 2>/dev/null)"
        pgs_log "its activity: $(pgs_sql_value "SELECT state || ' | ' || left(query, 60) FROM pg_stat_activity WHERE pid = $pid")"
        return 1
    fi
    pgs_log "backend $pid on CPU for ${t}s"
    pgs_kv CPU_PID "$pid"
}

pgs_scenario_main "$@"
