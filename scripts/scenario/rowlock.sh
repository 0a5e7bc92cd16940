#!/usr/bin/env bash
# Heavyweight row-lock stall: one session holds a row lock idle in
# transaction, a second one blocks on the same row.
set -euo pipefail

PGS_SELF=rowlock
PGS_SCENARIO=rowlock
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  HOLDER: BEGIN; UPDATE hot SET v=v+1 WHERE id=1; then idle in transaction.
       WAITER: UPDATE hot SET v=v+1 WHERE id=1;  (blocks on the holder's xid).
       Returns once pg_stat_activity shows the waiter with wait_event_type=Lock.
       Prints HOLDER_PID= and WAITER_PID= (backend pids).
       With PGSTALL_ROWLOCK_QUEUE=1, a WAITER2 runs the same UPDATE after the
       waiter: it queues on the row's tuple lock, which the waiter holds, so
       the chain is WAITER2 -> WAITER -> HOLDER. Prints WAITER2_PID= too.
stop   COMMIT the holder (the waiter then completes), end both sessions.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): undone by itself
after that long even if 'stop' is never called. Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/rowlock.sh start)"
  sudo scripts/pgcluster.sh psql -c "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid=\$WAITER_PID"
  sudo scripts/scenario/rowlock.sh stop
EOF
}

scenario_start() {
    local t holder waiter waiter2
    t="$(pgs_scenario_timeout)"
    pgs_watchdog rowlock "$t" "$(realpath "$0")"
    holder="$(pgs_session rowlock holder "$((t + 10))")"
    pgs_send rowlock holder 'BEGIN; UPDATE hot SET v = v + 1 WHERE id = 1;'
    pgs_wait_until 15 "holder $holder idle in transaction" \
        pgs_activity_is "$holder" "state = 'idle in transaction' AND backend_xid IS NOT NULL"
    waiter="$(pgs_session rowlock waiter "$((t + 10))")"
    pgs_send rowlock waiter 'UPDATE hot SET v = v + 1 WHERE id = 1;'
    pgs_wait_until 15 "waiter $waiter waiting on a Lock" \
        pgs_activity_is "$waiter" "wait_event_type = 'Lock'"
    pgs_log "waiter $waiter blocked by holder $holder (safety timeout ${t}s)"
    pgs_kv HOLDER_PID "$holder"
    pgs_kv WAITER_PID "$waiter"
    if [[ "${PGSTALL_ROWLOCK_QUEUE:-0}" == 1 ]]; then
        waiter2="$(pgs_session rowlock waiter2 "$((t + 10))")"
        pgs_send rowlock waiter2 'UPDATE hot SET v = v + 1 WHERE id = 1;'
        pgs_wait_until 15 "waiter2 $waiter2 waiting on a Lock" \
            pgs_activity_is "$waiter2" "wait_event_type = 'Lock'"
        pgs_log "waiter2 $waiter2 queued behind waiter $waiter"
        pgs_kv WAITER2_PID "$waiter2"
    fi
}

# Commit rather than kill, so the waiter really completes: the lock wait ends
# the way it would in production.
scenario_stop_pre() {
    local waiter
    [[ -p "$PGSTALL_SCENARIO_DIR/rowlock.holder.fifo" ]] || return 0
    (pgs_send rowlock holder 'COMMIT;') 2>/dev/null || return 0
    waiter="$(cat "$PGSTALL_SCENARIO_DIR/rowlock.waiter.pid" 2>/dev/null || true)"
    if [[ -n "$waiter" ]]; then
        pgs_wait_until 10 "waiter $waiter to finish its UPDATE" \
            pgs_activity_is "$waiter" "wait_event_type IS DISTINCT FROM 'Lock'" || true
    fi
}

pgs_scenario_main "$@"
