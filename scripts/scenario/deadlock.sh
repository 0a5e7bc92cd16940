#!/usr/bin/env bash
# Deadlock: two transactions each update one row, then each other's. After
# deadlock_timeout the deadlock detector aborts one of them; the other's
# UPDATE then completes. A stall that ends by itself, with a victim.
set -euo pipefail

PGS_SELF=deadlock
PGS_SCENARIO=deadlock
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

TABLE=pgstall_deadlock

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  (Re)create table $TABLE(id int primary key, v int) with rows 1 and 2.
       A: BEGIN; UPDATE row 1.   B: BEGIN; UPDATE row 2.
       A: UPDATE row 2 (blocks on B's xid).   B: UPDATE row 1 (blocks on A's
       xid: a cycle). B's deadlock check finds it after the server's
       deadlock_timeout (1 s by default) and aborts B's transaction; A's
       UPDATE then completes. A runs with a deadlock_timeout longer than the
       scenario so that the victim is always B, however the two waits are
       timed; which one it was is still read back, not assumed.
       Returns once pg_stat_activity shows the victim 'idle in transaction
       (aborted)' and the survivor 'idle in transaction'; both stay so.
       Prints A_PID=, B_PID=, VICTIM_PID=, SURVIVOR_PID= (backend pids).
stop   ROLLBACK both, end both sessions, drop $TABLE.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): undone by itself
after that long even if 'stop' is never called. Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/deadlock.sh start)"
  sudo scripts/pgcluster.sh psql -c "SELECT pid, state FROM pg_stat_activity WHERE pid IN (\$VICTIM_PID, \$SURVIVOR_PID)"
  grep -A3 'deadlock detected' $PGSTALL_LOGDIR/postgresql.log
  sudo scripts/scenario/deadlock.sh stop
EOF
}

# One of the two aborted, the other past its second UPDATE.
resolved() { # A B
    [[ "$(pgs_sql_value "SELECT string_agg(state, ',' ORDER BY state) FROM pg_stat_activity
            WHERE pid IN ($1, $2)")" == "idle in transaction,idle in transaction (aborted)" ]]
}

scenario_start() {
    local t a b s victim survivor dl_ms err
    t="$(pgs_scenario_timeout)"
    pgs_watchdog deadlock "$t" "$(realpath "$0")"

    pgs_sql "SET client_min_messages = warning; DROP TABLE IF EXISTS $TABLE;
             CREATE TABLE $TABLE(id int PRIMARY KEY, v int);
             INSERT INTO $TABLE VALUES (1, 0), (2, 0)" >/dev/null
    dl_ms="$(pgs_sql_value "SELECT setting FROM pg_settings WHERE name = 'deadlock_timeout'")"
    pgs_is_uint "$dl_ms" || pgs_die "could not read deadlock_timeout"

    a="$(pgs_session deadlock a "$((t + 10))")"
    b="$(pgs_session deadlock b "$((t + 10))")"
    # The victim's psql must survive its error: with ON_ERROR_STOP a script
    # psql exits, and its backend with it.
    pgs_send deadlock a '\set ON_ERROR_STOP off'
    pgs_send deadlock b '\set ON_ERROR_STOP off'
    # deadlock_timeout is superuser-settable per session. Only B ever runs
    # the check, so only B can be the victim.
    pgs_send deadlock a "SET deadlock_timeout = '$((t + 10))s';"

    pgs_send deadlock a "BEGIN; UPDATE $TABLE SET v = v + 1 WHERE id = 1;"
    pgs_send deadlock b "BEGIN; UPDATE $TABLE SET v = v + 1 WHERE id = 2;"
    for s in "$a" "$b"; do
        pgs_wait_until 15 "session $s idle in transaction with its row updated" \
            pgs_activity_is "$s" "state = 'idle in transaction' AND backend_xid IS NOT NULL"
    done
    pgs_send deadlock a "UPDATE $TABLE SET v = v + 1 WHERE id = 2;"
    pgs_wait_until 15 "A ($a) waiting for B's transaction" \
        pgs_activity_is "$a" "wait_event_type = 'Lock' AND wait_event = 'transactionid'"
    pgs_send deadlock b "UPDATE $TABLE SET v = v + 1 WHERE id = 1;"

    pgs_wait_until "$((dl_ms / 1000 + 15))" "the deadlock to be detected and resolved" \
        resolved "$a" "$b"
    victim="$(pgs_sql_value "SELECT pid FROM pg_stat_activity
                WHERE pid IN ($a, $b) AND state = 'idle in transaction (aborted)'")"
    if [[ "$victim" == "$a" ]]; then survivor=$b; else survivor=$a; fi
    # Cross-check with what the victim's client was told.
    err="$PGSTALL_SCENARIO_DIR/deadlock.$([[ "$victim" == "$a" ]] && echo a || echo b).err"
    grep -q 'deadlock detected' "$err" ||
        pgs_die "victim $victim is aborted but its session saw no 'deadlock detected' (see $err)"
    pgs_log "deadlock resolved: victim $victim, survivor $survivor (safety timeout ${t}s)"
    pgs_kv A_PID "$a"
    pgs_kv B_PID "$b"
    pgs_kv VICTIM_PID "$victim"
    pgs_kv SURVIVOR_PID "$survivor"
}

# Both transactions end before the table can be dropped, hence the cleanup
# here and not after.
scenario_stop_pre() {
    local tag
    if pgs_cluster_running; then
        for tag in a b; do
            if [[ -p "$PGSTALL_SCENARIO_DIR/deadlock.$tag.fifo" ]]; then
                (pgs_send deadlock "$tag" 'ROLLBACK;') 2>/dev/null || true
            fi
        done
    fi
    pgs_scenario_cleanup deadlock
    if pgs_cluster_running; then
        (pgs_sql "SET lock_timeout = '5s'; DROP TABLE IF EXISTS $TABLE") >/dev/null 2>&1 ||
            pgs_warn "could not drop $TABLE"
    fi
}

pgs_scenario_main "$@"
