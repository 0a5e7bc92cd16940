#!/usr/bin/env bash
# Advisory-lock stall: an application-level mutex (pg_advisory_lock) held by
# an idle session, a second session queued on it. Unlike row or table locks
# the holder is not even in a transaction.
set -euo pipefail

PGS_SELF=advisory
PGS_SCENARIO=advisory
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

KEY=4242

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  HOLDER: SELECT pg_advisory_lock($KEY);  (session-level; then idle, no
       transaction open). WAITER: SELECT pg_advisory_lock($KEY);  (blocks).
       Returns once pg_stat_activity shows the waiter with
       wait_event_type=Lock, wait_event=advisory.
       Prints HOLDER_PID=, WAITER_PID= (backend pids) and ADVISORY_KEY=$KEY.
stop   pg_advisory_unlock($KEY) in the holder (the waiter then gets the lock),
       end both sessions.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): undone by itself
after that long even if 'stop' is never called. Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/advisory.sh start)"
  sudo scripts/pgcluster.sh psql -c "SELECT pid, mode, granted FROM pg_locks WHERE locktype = 'advisory' AND objid = \$ADVISORY_KEY"
  sudo scripts/scenario/advisory.sh stop
EOF
}

# pg_locks row of a session's lock on KEY (bigint form: objsubid 1).
key_lock() { # PID GRANTED
    echo "EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = $1 AND l.locktype = 'advisory'
        AND l.classid = 0 AND l.objid = $KEY AND l.objsubid = 1 AND l.granted = $2)"
}

scenario_start() {
    local t holder waiter
    t="$(pgs_scenario_timeout)"
    pgs_watchdog advisory "$t" "$(realpath "$0")"
    holder="$(pgs_session advisory holder "$((t + 10))")"
    pgs_send advisory holder "SELECT pg_advisory_lock($KEY);"
    pgs_wait_until 15 "holder $holder idle holding advisory lock $KEY" \
        pgs_activity_is "$holder" "state = 'idle' AND $(key_lock "$holder" true)"
    waiter="$(pgs_session advisory waiter "$((t + 10))")"
    pgs_send advisory waiter "SELECT pg_advisory_lock($KEY);"
    pgs_wait_until 15 "waiter $waiter waiting on advisory lock $KEY" \
        pgs_activity_is "$waiter" "wait_event_type = 'Lock' AND wait_event = 'advisory'
            AND $(key_lock "$waiter" false)"
    pgs_log "waiter $waiter blocked on advisory lock $KEY held by $holder (safety timeout ${t}s)"
    pgs_kv HOLDER_PID "$holder"
    pgs_kv WAITER_PID "$waiter"
    pgs_kv ADVISORY_KEY "$KEY"
}

# Unlock rather than kill, so the waiter's wait ends by being granted.
scenario_stop_pre() {
    local waiter
    [[ -p "$PGSTALL_SCENARIO_DIR/advisory.holder.fifo" ]] || return 0
    pgs_cluster_running || return 0
    (pgs_send advisory holder "SELECT pg_advisory_unlock($KEY);") 2>/dev/null || return 0
    waiter="$(cat "$PGSTALL_SCENARIO_DIR/advisory.waiter.pid" 2>/dev/null || true)"
    if pgs_is_uint "$waiter"; then
        pgs_wait_until 10 "waiter $waiter to get the lock" \
            pgs_activity_not "$waiter" "wait_event_type = 'Lock'" || true
    fi
}

pgs_scenario_main "$@"
