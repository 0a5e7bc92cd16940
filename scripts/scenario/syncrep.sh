#!/usr/bin/env bash
# A COMMIT waiting for a synchronous standby that is not there: every
# commit asking for synchronous replication hangs in IPC:SyncRep.
set -euo pipefail

PGS_SELF=syncrep
PGS_SCENARIO=syncrep
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  ALTER SYSTEM: synchronous_commit = local for everyone (so only this
       scenario's session waits), synchronous_standby_names = a standby that
       does not exist; reload. COMMITTER: SET synchronous_commit = on; BEGIN;
       UPDATE hot ... ; COMMIT;  (waits for the missing standby).
       Returns once pg_stat_activity shows the committer in IPC:SyncRep.
       Prints COMMITTER_PID= (backend pid).
stop   ALTER SYSTEM RESET both settings and reload: the checkpointer releases
       the waiting commit, which completes; the session ends.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): undone by itself
after that long even if 'stop' is never called. Needs scripts/pgcluster.sh up.
EOF
}

reset_settings() {
    pgs_sql "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
    pgs_sql "ALTER SYSTEM RESET synchronous_commit" >/dev/null
    pgs_sql "SELECT pg_reload_conf()" >/dev/null
}

scenario_start() {
    local t committer
    t="$(pgs_scenario_timeout)"
    pgs_watchdog syncrep "$t" "$(realpath "$0")"
    pgs_sql "ALTER SYSTEM SET synchronous_commit = 'local'" >/dev/null
    pgs_sql "ALTER SYSTEM SET synchronous_standby_names = 'pgstall_absent_standby'" >/dev/null
    pgs_sql "SELECT pg_reload_conf()" >/dev/null
    committer="$(pgs_session syncrep committer "$((t + 10))")"
    pgs_send syncrep committer "SET synchronous_commit = on; BEGIN; UPDATE hot SET v = v + 1 WHERE id = 2; COMMIT;"
    pgs_wait_until 15 "committer $committer waiting in SyncRep" \
        pgs_activity_is "$committer" "wait_event = 'SyncRep'"
    pgs_log "committer $committer waits for a synchronous standby that is not there (safety timeout ${t}s)"
    pgs_kv COMMITTER_PID "$committer"
}

# Reset, so the waiting commit is released the way an operator would release
# it, and no later commit of the cluster waits.
scenario_stop_pre() {
    local committer
    pgs_cluster_running || return 0
    reset_settings || pgs_warn "could not reset synchronous_standby_names"
    committer="$(cat "$PGSTALL_SCENARIO_DIR/syncrep.committer.pid" 2>/dev/null || true)"
    if [[ -n "$committer" ]]; then
        pgs_wait_until 10 "committer $committer to complete its COMMIT" \
            pgs_activity_not "$committer" "wait_event = 'SyncRep'" || true
    fi
}

pgs_scenario_main "$@"
