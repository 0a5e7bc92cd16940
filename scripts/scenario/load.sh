#!/usr/bin/env bash
# Many clients and a few stalls among them: pgbench with hundreds of
# connections, and row-lock waiters queued on a session idle in transaction
# on a table of their own (pgbench never touches it).
set -euo pipefail

PGS_SELF=load
PGS_SCENARIO=load
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  PGBENCH: 'pgbench -n -c <clients> -j 2 -T <seconds>' (-S by default,
       -R <rate> if given);
       returns its part once pg_stat_activity shows all <clients> connected.
       HOLDER: BEGIN; UPDATE load_lock SET v = v + 1 (rows 1..<waiters>);
       then idle in transaction.
       WAITERS: one session per row, UPDATE load_lock ... WHERE id = i;
       each blocks on the holder's xid. Returns once every waiter shows
       wait_event_type=Lock. Prints HOLDER_PID=, WAITER_PIDS= (comma-
       separated), PGBENCH_PID=, BACKEND_PIDS= (the pgbench client backends,
       comma-separated), CLIENTS= and PGBENCH_LOG=.
stop   COMMIT the holder (the waiters then complete), end pgbench and every
       session.

Environment:
  PGSTALL_LOAD_CLIENTS  (default 500) pgbench clients; max_connections must
                        leave room for them, the sessions and 5 more
                        (scripts/pgcluster.sh: PGSTALL_MAX_CONNECTIONS)
  PGSTALL_LOAD_SECONDS  (default 60) pgbench -T (its clock runs while the
                        clients connect: give room), and how long sessions live
  PGSTALL_LOAD_WAITERS  (default 3) row-lock waiters (0: pgbench only)
  PGSTALL_LOAD_WORKLOAD select (pgbench -S, default) or tpcb (built-in TPC-B)
  PGSTALL_LOAD_RATE     pgbench -R, transactions per second in all (default 0:
                        as fast as it goes)
  PGSTALL_SCENARIO_TIMEOUT (default 120) safety timeout: undone after that
                        long even if 'stop' is never called
Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo env PGSTALL_LOAD_CLIENTS=50 scripts/scenario/load.sh start)"
  sudo scripts/pgcluster.sh psql -c "SELECT pid, wait_event FROM pg_stat_activity WHERE pid IN (\$WAITER_PIDS)"
  sudo scripts/scenario/load.sh stop
EOF
}

check_uint() { # NAME VALUE MIN MAX
    if ! pgs_is_uint "$2" || (($2 < $3 || $2 > $4)); then
        pgs_die "$1 must be an integer from $3 to $4, got '$2'"
    fi
}

scenario_start() {
    local t clients secs waiters workload rate max need holder w i pids="" before log pgbench_pid backends q
    local mode=(-S) PGS_AS_PG
    t="$(pgs_scenario_timeout)"
    clients="${PGSTALL_LOAD_CLIENTS:-500}"
    secs="${PGSTALL_LOAD_SECONDS:-60}"
    waiters="${PGSTALL_LOAD_WAITERS:-3}"
    workload="${PGSTALL_LOAD_WORKLOAD:-select}"
    check_uint PGSTALL_LOAD_CLIENTS "$clients" 1 5000
    check_uint PGSTALL_LOAD_SECONDS "$secs" 1 86400
    check_uint PGSTALL_LOAD_WAITERS "$waiters" 0 50
    rate="${PGSTALL_LOAD_RATE:-0}"
    check_uint PGSTALL_LOAD_RATE "$rate" 0 1000000
    case "$workload" in
    select) mode=(-S) ;;
    tpcb) mode=() ;;
    *) pgs_die "PGSTALL_LOAD_WORKLOAD must be select or tpcb, got '$workload'" ;;
    esac
    ((rate == 0)) || mode+=(-R "$rate")
    max="$(pgs_sql_value 'SHOW max_connections')"
    need=$((clients + waiters + 1 + 5 + 3)) # + holder, checks, superuser_reserved_connections
    ((max >= need)) || pgs_die "max_connections is $max; $clients clients and $waiters waiters need $need" \
        "(restart the cluster with PGSTALL_MAX_CONNECTIONS=$need scripts/pgcluster.sh start-server)"
    pgs_watchdog load "$t" "$(realpath "$0")"

    if ((waiters > 0)); then
        pgs_sql "CREATE TABLE IF NOT EXISTS load_lock(id int PRIMARY KEY, v int);
                 INSERT INTO load_lock SELECT g, 0 FROM generate_series(1, $waiters) g ON CONFLICT DO NOTHING" >/dev/null
    fi

    log="$PGSTALL_SCENARIO_DIR/load.pgbench.log"
    : >"$log"
    before="$(pgs_pgbench_backends_now)"
    pgs_as_pg_prefix
    pgbench_pid="$(pgs_spawn load "$log" "${PGS_AS_PG[@]}" \
        "$(pgs_bindir)/pgbench" -n "${mode[@]}" -c "$clients" -j 2 -T "$secs" "$PGSTALL_DB")"
    # Hundreds of backends started one after another on a small, busy
    # machine: minutes. pgbench's -T clock runs meanwhile.
    q="SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'
       AND backend_type = 'client backend' AND pid NOT IN (${before:-0}) ORDER BY pid"
    pgs_wait_until 240 "$clients pgbench backends" pgs_rows_at_least "$clients" "$q" ||
        pgs_die "pgbench did not connect $clients clients; its log: $(tail -n 5 "$log" 2>/dev/null | tr '\n' ' ')"
    backends="$(pgs_sql "$q" | paste -sd, -)"
    tr ',' '\n' <<<"$backends" >>"$PGSTALL_SCENARIO_DIR/load.backends"

    if ((waiters > 0)); then
        holder="$(pgs_session load holder "$((secs + 10))")"
        pgs_send load holder "BEGIN; UPDATE load_lock SET v = v + 1 WHERE id <= $waiters;"
        pgs_wait_until 30 "holder $holder idle in transaction" \
            pgs_activity_is "$holder" "state = 'idle in transaction' AND backend_xid IS NOT NULL"
        for ((i = 1; i <= waiters; i++)); do
            w="$(pgs_session load "waiter$i" "$((secs + 10))")"
            pgs_send load "waiter$i" "UPDATE load_lock SET v = v + 1 WHERE id = $i;"
            pgs_wait_until 30 "waiter $w waiting on a Lock" pgs_activity_is "$w" "wait_event_type = 'Lock'"
            pids="${pids:+$pids,}$w"
        done
        pgs_log "$clients pgbench clients; waiters $pids blocked by holder $holder (safety timeout ${t}s)"
        pgs_kv HOLDER_PID "$holder"
        pgs_kv WAITER_PIDS "$pids"
    fi
    pgs_kv PGBENCH_PID "$pgbench_pid"
    pgs_kv BACKEND_PIDS "$backends"
    pgs_kv CLIENTS "$clients"
    pgs_kv PGBENCH_LOG "$log"
}

# Commit rather than kill: the waits end the way they would in production.
scenario_stop_pre() {
    [[ -p "$PGSTALL_SCENARIO_DIR/load.holder.fifo" ]] || return 0
    (pgs_send load holder 'COMMIT;') 2>/dev/null || return 0
    sleep 0.5
}

pgs_scenario_main "$@"
