#!/usr/bin/env bash
# Healthy: an autovacuum worker throttled by its cost delay (it naps in
# Timeout:VacuumDelay again and again) vacuuming a table full of dead rows.
set -euo pipefail

PGS_SELF=autovacuum
PGS_SCENARIO=autovacuum
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  ALTER SYSTEM SET autovacuum_naptime = 1 (reload), a table vac_target of
       300,000 rows with autovacuum_vacuum_cost_delay 20 ms and cost limit 20,
       every row updated once: an autovacuum worker comes for it within a few
       seconds and crawls through it. Returns once pg_stat_activity shows the
       worker in Timeout:VacuumDelay. Prints AUTOVACUUM_PID=.
stop   Reset autovacuum_naptime (reload), drop the table (autovacuum yields).
EOF
}

reset_all() {
    pgs_sql "ALTER SYSTEM RESET autovacuum_naptime" >/dev/null || true
    pgs_sql "SELECT pg_reload_conf()" >/dev/null || true
    pgs_sql "DROP TABLE IF EXISTS vac_target" >/dev/null || true
}

worker_pid() {
    pgs_sql_value "SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'
                   AND query LIKE '%vac_target%' AND wait_event = 'VacuumDelay' LIMIT 1"
}
worker_in_delay() { [[ -n "$(worker_pid)" ]]; }

scenario_start() {
    local t worker
    t="$(pgs_scenario_timeout)"
    pgs_watchdog autovacuum "$t" "$(realpath "$0")"
    pgs_sql "DROP TABLE IF EXISTS vac_target" >/dev/null
    pgs_sql "CREATE TABLE vac_target WITH (autovacuum_vacuum_cost_delay = 20, autovacuum_vacuum_cost_limit = 20,
             autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0)
             AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 300000) g" >/dev/null
    pgs_sql "UPDATE vac_target SET pad = pad || 'y'" >/dev/null
    pgs_sql "ALTER SYSTEM SET autovacuum_naptime = 1" >/dev/null
    pgs_sql "SELECT pg_reload_conf()" >/dev/null
    pgs_wait_until 60 "an autovacuum worker napping in its cost delay on vac_target" worker_in_delay
    worker="$(worker_pid)"
    pgs_log "autovacuum worker $worker vacuums vac_target with a cost delay"
    pgs_kv AUTOVACUUM_PID "$worker"
}

scenario_stop_pre() {
    pgs_cluster_running || return 0
    reset_all
}

pgs_scenario_main "$@"
