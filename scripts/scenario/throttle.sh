#!/usr/bin/env bash
# A disk that crawls but never stops: the cluster's processes in a cgroup v1
# blkio group throttled to a few write IOPS on the cluster's loop device,
# under a TPC-B pgbench load. Each fdatasync of the WAL takes 0.5-1 s; no
# single wait is long, the server is down for its users all the same.
set -euo pipefail

PGS_SELF=throttle
PGS_SCENARIO=throttle
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CGROUP=/sys/fs/cgroup/blkio/pgstall-throttle

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  CHECKPOINT and sync (no backlog of dirty data), then create the
       blkio cgroup $CGROUP with
       blkio.throttle.write_iops_device = PGSTALL_THROTTLE_WRITE_IOPS (default 4: about 1 TPS, each commit's fdatasync 0.5-1.5 s)
       (and read_iops_device = PGSTALL_THROTTLE_READ_IOPS if set) on the
       cluster's loop device, move the postmaster and all its children into
       it (backends forked later inherit it), then run
       'pgbench -N -c 2 -T <timeout>' (TPC-B without the branch and teller
       updates: the two clients never wait for each other's row locks, only
       for the disk). Needs 'pgcluster.sh up --loop'.
       Returns once pgbench's backends wait on I/O.
       Prints DEVICE= (major:minor), PGBENCH_PID=, BACKEND_PIDS= and PGBENCH_LOG=.
stop   Move every process back to the root cgroup, remove the throttle and
       the cgroup, end pgbench and its backends.

Environment: PGSTALL_SCENARIO_TIMEOUT (default 120 s): the watchdog undoes it
after that long, whatever happens.
EOF
}

# Every process of the cluster: the postmaster and its children.
cluster_processes() {
    local pm
    pm="$(pgs_postmaster_pid)"
    [[ -n "$pm" ]] || return 0
    echo "$pm"
    pgrep -P "$pm" || true
}

scenario_start() {
    local t dev log pgbench_pid backends before p PGS_AS_PG
    t="$(pgs_scenario_timeout)"
    pgs_require_loop
    dev="$(pgs_loop_device)"
    # The watchdog exists before the throttle does: it is always undone.
    # Nothing dirty left from earlier work: flushed at 4 IOPS it would hold
    # the first fdatasyncs for many seconds (a backlog, not a crawl).
    pgs_sql "CHECKPOINT" >/dev/null
    sync
    pgs_watchdog throttle "$t" "$(realpath "$0")"
    pgs_blkio_group_create "$CGROUP" write_iops_device "${PGSTALL_THROTTLE_WRITE_IOPS:-4}"
    if [[ -n "${PGSTALL_THROTTLE_READ_IOPS:-}" ]]; then
        echo "$dev $PGSTALL_THROTTLE_READ_IOPS" >"$CGROUP/blkio.throttle.read_iops_device"
    fi
    for p in $(cluster_processes); do echo "$p" >"$CGROUP/cgroup.procs" 2>/dev/null || true; done

    log="$PGSTALL_SCENARIO_DIR/throttle.pgbench.log"
    : >"$log"
    before="$(pgs_pgbench_backends_now)"
    pgs_as_pg_prefix
    pgbench_pid="$(pgs_spawn throttle "$log" "${PGS_AS_PG[@]}" \
        "$(pgs_bindir)/pgbench" -n -N -c 2 -j 1 -T "$t" -P 1 "$PGSTALL_DB")"
    backends="$(pgs_new_pgbench_backends throttle 2 "$before")" ||
        pgs_die "pgbench did not connect; its log: $(tail -n 5 "$log" 2>/dev/null | tr '\n' ' ')"
    pgs_wait_until 20 "pgbench backends waiting on I/O" \
        test "$(pgs_sql_value "SELECT count(*) FROM pg_stat_activity WHERE pid IN ($backends) AND wait_event_type IN ('IO', 'LWLock')")" -gt 0
    pgs_log "cluster throttled to ${PGSTALL_THROTTLE_WRITE_IOPS:-4} write IOPS on $dev (undone after ${t}s at the latest)"
    pgs_kv DEVICE "$dev"
    pgs_kv PGBENCH_PID "$pgbench_pid"
    pgs_kv BACKEND_PIDS "$backends"
    pgs_kv PGBENCH_LOG "$log"
}

# Unthrottle first: pgbench and the backends then end at normal speed.
scenario_stop_pre() {
    pgs_blkio_group_remove "$CGROUP"
}

pgs_scenario_main "$@"
