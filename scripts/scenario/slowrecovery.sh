#!/usr/bin/env bash
# Crash recovery on a slow disk: WAL written under load, the server crashed
# (immediate stop), the page cache dropped, and the server started again in
# a cgroup v1 blkio group throttled to a few read IOPS on the cluster's loop
# device: the startup process crawls through its WAL, 0.5-1 s per read, and
# the server refuses connections meanwhile.
set -euo pipefail

PGS_SELF=slowrecovery
PGS_SCENARIO=slowrecovery
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CGROUP=/sys/fs/cgroup/blkio/pgstall-slowrecovery
PGCLUSTER="$(dirname "${BASH_SOURCE[0]}")/../pgcluster.sh"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  pgbench (TPC-B, 4 clients) for PGSTALL_RECOVERY_LOAD_S (default 10) s,
       then 'pg_ctl stop -m immediate' (a crash), drop the page cache, create
       $CGROUP with blkio.throttle.read_iops_device =
       PGSTALL_RECOVERY_READ_IOPS (default 8) on the cluster's loop device,
       and start the server inside it without waiting for recovery to end.
       Returns once the startup process is replaying WAL.
       Prints STARTUP_PID=, POSTMASTER_PID= and DEVICE=.
stop   Move every process back to the root cgroup, remove the cgroup, and
       wait (up to 120 s) for recovery to end and the server to accept
       connections, so the cluster is usable again.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): the watchdog undoes it
after that long, whatever happens. Needs 'pgcluster.sh up --loop'.
EOF
}

startup_pid() {
    local pm p
    pm="$(pgs_postmaster_pid)"
    [[ -n "$pm" ]] || return 0
    for p in $(pgrep -P "$pm" || true); do
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'startup recovering'; then echo "$p"; return 0; fi
    done
}

replaying() { [[ -n "$(startup_pid)" ]]; }

scenario_start() {
    local t dev log pm startup PGS_AS_PG
    t="$(pgs_scenario_timeout)"
    pgs_require_loop
    dev="$(pgs_loop_device)"
    pgs_watchdog slowrecovery "$t" "$(realpath "$0")"

    log="$PGSTALL_SCENARIO_DIR/slowrecovery.pgbench.log"
    pgs_as_pg_prefix
    "${PGS_AS_PG[@]}" "$(pgs_bindir)/pgbench" -n -c 4 -j 2 -T "${PGSTALL_RECOVERY_LOAD_S:-10}" "$PGSTALL_DB" \
        </dev/null >"$log" 2>&1 || pgs_die "pgbench failed, see $log"
    "$PGCLUSTER" stop-server --mode immediate >/dev/null
    sync
    echo 3 >/proc/sys/vm/drop_caches
    pgs_blkio_group_create "$CGROUP" read_iops_device "${PGSTALL_RECOVERY_READ_IOPS:-8}"
    # The server starts inside the throttled group: the startup process inherits it.
    bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" start-server --no-wait' _ "$CGROUP" "$PGCLUSTER" >/dev/null
    pgs_wait_until 60 "the startup process to replay WAL" replaying
    startup="$(startup_pid)"
    pm="$(pgs_postmaster_pid)"
    pgs_log "startup process $startup replays WAL at ${PGSTALL_RECOVERY_READ_IOPS:-8} read IOPS (undone after ${t}s at the latest)"
    pgs_kv STARTUP_PID "$startup"
    pgs_kv POSTMASTER_PID "$pm"
    pgs_kv DEVICE "$dev"
}

# Unthrottle, then let recovery finish: the cluster is shared by later tests.
scenario_stop_pre() {
    pgs_blkio_group_remove "$CGROUP"
    if pgs_cluster_running; then
        pgs_wait_until 120 "recovery to end and the server to accept connections" \
            pgs_sql "SELECT 1" || pgs_warn "the server does not accept connections yet"
    fi
}

pgs_scenario_main "$@"
