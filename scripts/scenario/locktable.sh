#!/usr/bin/env bash
# Relation-lock stall: one session holds ACCESS EXCLUSIVE on a table idle in
# transaction (what a forgotten migration or DDL looks like); several plain
# readers queue behind it.
set -euo pipefail

PGS_SELF=locktable
PGS_SCENARIO=locktable
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# A table of its own: locking `hot` would also block the rowlock scenario.
TABLE=pgstall_locktable

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  (Re)create table $TABLE (100 rows).
       HOLDER: BEGIN; LOCK TABLE $TABLE IN ACCESS EXCLUSIVE MODE; then idle in
       transaction. N WAITERs: SELECT count(*) FROM $TABLE;  (each blocks).
       Returns once pg_stat_activity shows every waiter with
       wait_event_type=Lock, wait_event=relation.
       Prints HOLDER_PID=, WAITER_PIDS= (comma-separated backend pids),
       TABLE_OID= and DB_OID= (the relation lock's tag).
stop   ROLLBACK the holder (the waiters then complete), end all sessions,
       drop $TABLE.

Environment:
  PGSTALL_LOCKTABLE_WAITERS (default 3)   number of waiters
  PGSTALL_SCENARIO_TIMEOUT  (default 120) safety timeout: undone after that
                            long even if 'stop' is never called
Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/locktable.sh start)"
  sudo scripts/pgcluster.sh psql -c "SELECT pid, wait_event_type, wait_event FROM pg_stat_activity WHERE pid IN (\$WAITER_PIDS)"
  sudo scripts/pgcluster.sh psql -c "SELECT pid, mode, granted FROM pg_locks WHERE relation = \$TABLE_OID"
  sudo scripts/scenario/locktable.sh stop
EOF
}

scenario_start() {
    local t n i holder waiter table_oid db_oid waiters=()
    t="$(pgs_scenario_timeout)"
    n="${PGSTALL_LOCKTABLE_WAITERS:-3}"
    if ! pgs_is_uint "$n" || ((n == 0 || n > 50)); then
        pgs_die "PGSTALL_LOCKTABLE_WAITERS must be an integer from 1 to 50, got '$n'"
    fi
    pgs_watchdog locktable "$t" "$(realpath "$0")"

    pgs_sql "SET client_min_messages = warning; DROP TABLE IF EXISTS $TABLE; CREATE TABLE $TABLE(id int);
             INSERT INTO $TABLE SELECT generate_series(1, 100)" >/dev/null
    table_oid="$(pgs_sql_value "SELECT '$TABLE'::regclass::oid")"
    db_oid="$(pgs_sql_value "SELECT oid FROM pg_database WHERE datname = current_database()")"
    if ! pgs_is_uint "$table_oid" || ! pgs_is_uint "$db_oid"; then
        pgs_die "could not look up the oids of $TABLE"
    fi

    holder="$(pgs_session locktable holder "$((t + 10))")"
    pgs_send locktable holder "BEGIN; LOCK TABLE $TABLE IN ACCESS EXCLUSIVE MODE;"
    pgs_wait_until 15 "holder $holder idle in transaction with the lock" \
        pgs_activity_is "$holder" "state = 'idle in transaction' AND EXISTS (
            SELECT 1 FROM pg_locks l WHERE l.pid = $holder AND l.locktype = 'relation'
            AND l.relation = $table_oid AND l.mode = 'AccessExclusiveLock' AND l.granted)"

    for ((i = 1; i <= n; i++)); do
        waiter="$(pgs_session locktable "waiter$i" "$((t + 10))")"
        pgs_send locktable "waiter$i" "SELECT count(*) FROM $TABLE;"
        waiters+=("$waiter")
    done
    for waiter in "${waiters[@]}"; do
        pgs_wait_until 15 "waiter $waiter waiting on the relation lock" \
            pgs_activity_is "$waiter" "wait_event_type = 'Lock' AND wait_event = 'relation'"
    done
    pgs_log "$n waiter(s) blocked on $TABLE (oid $table_oid) by holder $holder (safety timeout ${t}s)"
    pgs_kv HOLDER_PID "$holder"
    pgs_kv WAITER_PIDS "$(IFS=,; echo "${waiters[*]}")"
    pgs_kv TABLE_OID "$table_oid"
    pgs_kv DB_OID "$db_oid"
}

# Roll back rather than kill, so the waiters really complete: the lock wait
# ends the way it would in production. The table can be dropped only once no
# session holds a lock on it, hence the cleanup here and not after.
scenario_stop_pre() {
    local f waiter
    if [[ -p "$PGSTALL_SCENARIO_DIR/locktable.holder.fifo" ]] && pgs_cluster_running &&
        (pgs_send locktable holder 'ROLLBACK;') 2>/dev/null; then
        for f in "$PGSTALL_SCENARIO_DIR"/locktable.waiter*.pid; do
            [[ -e "$f" ]] || continue
            waiter="$(cat "$f" 2>/dev/null || true)"
            pgs_is_uint "$waiter" || continue
            pgs_wait_until 10 "waiter $waiter to finish its SELECT" \
                pgs_activity_not "$waiter" "wait_event_type = 'Lock'" || true
        done
    fi
    pgs_scenario_cleanup locktable
    if pgs_cluster_running; then
        (pgs_sql "SET lock_timeout = '5s'; DROP TABLE IF EXISTS $TABLE") >/dev/null 2>&1 ||
            pgs_warn "could not drop $TABLE"
    fi
}

pgs_scenario_main "$@"
