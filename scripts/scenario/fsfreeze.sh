#!/usr/bin/env bash
# I/O stall: freeze the filesystem holding the whole data dir (pg_wal
# included) under a TPC-B pgbench load. Writers end up in D state.
set -euo pipefail

PGS_SELF=fsfreeze
PGS_SCENARIO=fsfreeze
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  Run 'pgbench -c 4 -j 2 -T <timeout> -P 1' (TPC-B, writes WAL), wait 2 s,
       then 'fsfreeze -f' the cluster's loop mount. Needs 'pgcluster.sh up --loop'.
       Prints MOUNT=, PGBENCH_PID=, BACKEND_PIDS= (comma-separated pgbench client
       backends, taken before the freeze) and PGBENCH_LOG= (progress, 1 line/s).
stop   'fsfreeze -u' FIRST, then end pgbench, its backends and the dead-man job.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): a dead-man job thaws
the filesystem and undoes the scenario after that long, whatever happens.

Example:
  sudo scripts/pgcluster.sh up --loop
  eval "\$(sudo scripts/scenario/fsfreeze.sh start)"
  sleep 5; tail -3 "\$PGBENCH_LOG"          # progress: 0.0 tps while frozen
  sudo scripts/scenario/fsfreeze.sh stop
EOF
}

scenario_start() {
    local t log pgbench_pid backends before PGS_AS_PG
    t="$(pgs_scenario_timeout)"
    pgs_require_loop
    # The dead-man job exists before the freeze does, so a thaw is guaranteed.
    pgs_watchdog fsfreeze "$t" "$(realpath "$0")" "fsfreeze -u $(printf %q "$PGSTALL_MOUNT")"

    log="$PGSTALL_SCENARIO_DIR/fsfreeze.pgbench.log"
    : >"$log"
    before="$(pgs_pgbench_backends_now)"
    pgs_as_pg_prefix
    # -n: no vacuum first, the load starts at once.
    pgbench_pid="$(pgs_spawn fsfreeze "$log" "${PGS_AS_PG[@]}" \
        "$(pgs_bindir)/pgbench" -n -c 4 -j 2 -T "$t" -P 1 "$PGSTALL_DB")"
    backends="$(pgs_new_pgbench_backends fsfreeze 4 "$before")" ||
        pgs_die "pgbench did not connect; its log: $(tail -n 5 "$log" 2>/dev/null | tr '\n' ' ');" \
            "sessions: $(pgs_sql_value "SELECT string_agg(coalesce(application_name, '?') || ':' || coalesce(state, '-'), ' ') FROM pg_stat_activity WHERE backend_type = 'client backend'")"
    sleep 2
    kill -0 "$pgbench_pid" 2>/dev/null || pgs_die "pgbench exited early, see $log"

    pgs_log "freezing $PGSTALL_MOUNT (thawed after ${t}s at the latest)"
    fsfreeze -f "$PGSTALL_MOUNT"
    pgs_kv MOUNT "$PGSTALL_MOUNT"
    pgs_kv PGBENCH_PID "$pgbench_pid"
    pgs_kv BACKEND_PIDS "$backends"
    pgs_kv PGBENCH_LOG "$log"
}

# Thaw before anything else: processes in D state on a frozen fs cannot die.
scenario_stop_pre() {
    pgs_thaw
}

pgs_scenario_main "$@"
