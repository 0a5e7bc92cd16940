#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for pgstall's demo, integration tests and
# benchmarks. Run as root; postgres itself runs as the `postgres` user.
set -euo pipefail

PGS_SELF=pgcluster
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
Usage: $0 COMMAND [ARGS]

Commands:
  up [--loop]   Create a fresh cluster (if not already running) and start it:
                database '$PGSTALL_DB' with a pgbench scale-10 dataset and a
                table hot(id int primary key, v int). With --loop the data dir
                (pg_wal included) lives on a 1G sparse ext4 image loop-mounted
                at \$PGSTALL_PGDIR/mnt, so it can be fsfreeze'd.
                Prints the same KEY=VALUE lines as 'env'.
  down          Thaw, kill scenario processes, stop postgres, unmount, detach
                the loop device and remove \$PGSTALL_PGDIR. Safe on a
                half-built or already removed cluster.
  stop-server [--mode fast|immediate]
                Stop postgres (pg_ctl stop -w; default fast), keeping the data
                dir, the mount and the configuration. 'immediate' leaves it
                to crash recovery at the next start.
  start-server [--no-wait]
                Start postgres again on the existing data dir (pg_ctl start;
                -w unless --no-wait) and print the same lines as 'env'.
  env           Print KEY=VALUE lines: PGSTALL_PGDATA PGSTALL_PGHOST
                PGSTALL_PGPORT PGSTALL_POSTMASTER_PID PGSTALL_BINDIR and, in
                loop mode, PGSTALL_MOUNT. Exit 3 if the cluster is not running.
  status        Exit 0 if the cluster is running, 3 if not.
  psql ARGS...  psql as postgres on database '$PGSTALL_DB' (-X -q -v ON_ERROR_STOP=1).
                Files are read as the postgres user: pipe them on stdin instead.

Environment:
  PGSTALL_PGDIR  base directory   (default /tmp/pgstall-pg; now $PGSTALL_PGDIR)
  PGSTALL_PGPORT port             (default 54329; now $PGSTALL_PGPORT)
  PGSTALL_MAX_CONNECTIONS
                 max_connections for 'up' (written to postgresql.conf) and
                 'start-server' (for that run only: pg_ctl -o); unset: the
                 server's default (100)

Example:
  eval "\$(sudo scripts/pgcluster.sh up --loop)"
  sudo scripts/pgcluster.sh psql -c 'SELECT count(*) FROM pgbench_accounts'
  sudo scripts/pgcluster.sh down
EOF
}

# rm -rf on a user-supplied path: refuse anything that is obviously not ours.
check_pgdir_sane() {
    case "$PGSTALL_PGDIR" in
    / | /tmp | /var | /var/tmp | /home | /root | /usr | /etc | /work)
        pgs_die "refusing to use PGSTALL_PGDIR=$PGSTALL_PGDIR" ;;
    esac
}

# Delete $PGSTALL_PGDIR only if everything in it is something we create:
# a mistyped PGSTALL_PGDIR must not wipe someone's directory.
remove_pgdir() {
    local entry
    [[ -d "$PGSTALL_PGDIR" ]] || return 0
    for entry in "$PGSTALL_PGDIR"/* "$PGSTALL_PGDIR"/.[!.]*; do
        [[ -e "$entry" || -L "$entry" ]] || continue
        case "$(basename "$entry")" in
        mode | data | sock | log | scenario | mnt | disk.img) ;;
        *)
            pgs_warn "not removing $PGSTALL_PGDIR: it holds '$(basename "$entry")', which pgcluster.sh did not create"
            return 0
            ;;
        esac
    done
    # --one-file-system: never delete into a mount we failed to remove.
    rm -rf --one-file-system "$PGSTALL_PGDIR"
}

# Every backend and auxiliary process chdirs into the data dir: that finds
# them even when postmaster.pid is gone or the postmaster died first.
# -ef (same device and inode) is a builtin test: no fork per process.
cluster_pids() {
    local pgdata=$1 postgres_bin p
    postgres_bin="$(pgs_bindir)/postgres"
    for p in /proc/[0-9]*; do
        [[ "$p/cwd" -ef "$pgdata" && "$p/exe" -ef "$postgres_bin" ]] || continue
        echo "${p#/proc/}"
    done
    return 0
}

stop_postgres() {
    local pgdata bindir pids i
    bindir="$(pgs_bindir)"
    for pgdata in "$PGSTALL_PGDIR/data" "$PGSTALL_MOUNT/data"; do
        [[ -d "$pgdata" ]] || continue
        if [[ -f "$pgdata/postmaster.pid" ]]; then
            (pgs_as_pg_root_cwd "$bindir/pg_ctl" stop -D "$pgdata" -m immediate -w -t 30) >&2 || true
        fi
        for ((i = 0; i < 3; i++)); do
            pids="$(cluster_pids "$pgdata")"
            [[ -n "$pids" ]] || break
            pgs_log "killing leftover postgres processes: $(echo "$pids" | paste -sd' ')"
            # shellcheck disable=SC2086 # word-splitting the pid list is intended
            kill -KILL $pids 2>/dev/null || true
            sleep 0.5
        done
    done
}

cmd_down() {
    local name dev
    pgs_require_root
    check_pgdir_sane
    # Thaw first: processes stuck on a frozen fs cannot even be killed.
    pgs_thaw
    if [[ -d "$PGSTALL_SCENARIO_DIR" ]]; then
        for name in $(pgs_scenario_names); do
            pgs_log "killing processes of scenario '$name'"
            pgs_kill_pidfile "$PGSTALL_SCENARIO_DIR/$name.pids"
        done
    fi
    pgs_thaw # a scenario could have frozen again in the meantime
    stop_postgres
    if mountpoint -q "$PGSTALL_MOUNT" 2>/dev/null; then
        umount "$PGSTALL_MOUNT" 2>/dev/null || {
            pgs_warn "umount $PGSTALL_MOUNT failed (busy?), detaching lazily"
            umount -l "$PGSTALL_MOUNT" || true
        }
    fi
    if [[ -e "$PGSTALL_IMAGE" ]]; then
        while read -r dev; do
            [[ -n "$dev" ]] && { losetup -d "$dev" || pgs_warn "losetup -d $dev failed"; }
        done < <(losetup -j "$PGSTALL_IMAGE" -O NAME -n 2>/dev/null || true)
    fi
    remove_pgdir
    pgs_log "cluster at $PGSTALL_PGDIR is down"
}

# A failed `up` must not leave a half-built cluster (or a mount) behind.
on_up_exit() {
    local rc=$?
    if ((rc != 0)); then
        pgs_log "up failed (rc=$rc), tearing down"
        cmd_down || true
    fi
}

cmd_up() {
    local loop=0 bindir pgdata dev
    while (($#)); do
        case "$1" in
        --loop) loop=1 ;;
        *) usage >&2; exit 2 ;;
        esac
        shift
    done
    pgs_require_root
    check_pgdir_sane
    max_connections_opt >/dev/null # a bad value is said before anything is built
    if pgs_cluster_running; then
        if ((loop)) && [[ "$(pgs_mode)" != loop ]]; then
            pgs_die "cluster is already up without --loop; run '$0 down' first"
        fi
        pgs_print_env
        return 0
    fi
    if [[ -e "$PGSTALL_PGDIR" ]]; then
        pgs_log "removing the stale cluster at $PGSTALL_PGDIR"
        cmd_down
    fi
    trap on_up_exit EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    bindir="$(pgs_bindir)"
    mkdir -p "$PGSTALL_PGDIR"
    chmod 755 "$PGSTALL_PGDIR"
    if ((loop)); then
        echo loop >"$PGSTALL_MODE_FILE"
        truncate -s 1G "$PGSTALL_IMAGE" # sparse
        dev="$(losetup --find --show "$PGSTALL_IMAGE")"
        mkfs.ext4 -q -F -m 0 -L pgstall "$dev" # -m 0: no root reserve, postgres gets it all
        mkdir -p "$PGSTALL_MOUNT"
        mount "$dev" "$PGSTALL_MOUNT"
    else
        echo plain >"$PGSTALL_MODE_FILE"
    fi
    pgdata="$(pgs_pgdata)"
    mkdir -p "$pgdata" "$PGSTALL_PGHOST" "$PGSTALL_LOGDIR"
    chown "$PGSTALL_OS_USER:" "$pgdata" "$PGSTALL_PGHOST" "$PGSTALL_LOGDIR"
    chmod 700 "$pgdata"

    pgs_log "initdb $pgdata ($bindir)"
    (pgs_as_pg_root_cwd "$bindir/initdb" -D "$pgdata" -A trust -U postgres -E UTF8 --locale=C.UTF-8) >"$PGSTALL_LOGDIR/initdb.log" 2>&1 ||
        pgs_die "initdb failed, see $PGSTALL_LOGDIR/initdb.log"
    # Only loopback-free local sockets: the cluster is never reachable over TCP.
    # max_wal_size keeps WAL well inside the 1G image in loop mode.
    cat >>"$pgdata/postgresql.conf" <<EOF

# --- pgstall test cluster ---
listen_addresses = ''
port = $PGSTALL_PGPORT
unix_socket_directories = '$PGSTALL_PGHOST'
shared_buffers = 128MB
fsync = on
max_wal_size = 256MB
min_wal_size = 80MB
log_line_prefix = '%m [%p] %q%a '
EOF
    if [[ -n "${PGSTALL_MAX_CONNECTIONS:-}" ]]; then
        echo "max_connections = $PGSTALL_MAX_CONNECTIONS" >>"$pgdata/postgresql.conf"
    fi
    (pgs_as_pg_root_cwd "$bindir/pg_ctl" start -D "$pgdata" -l "$PGSTALL_LOGDIR/postgresql.log" -w -t 60) >&2 ||
        pgs_die "pg_ctl start failed, see $PGSTALL_LOGDIR/postgresql.log"

    pgs_log "creating database $PGSTALL_DB and the pgbench dataset (scale 10)"
    pgs_as_pg_root_cwd "$bindir/createdb" "$PGSTALL_DB"
    (pgs_as_pg_root_cwd "$bindir/pgbench" -i -s 10 -q "$PGSTALL_DB") >"$PGSTALL_LOGDIR/pgbench-init.log" 2>&1 ||
        pgs_die "pgbench -i failed, see $PGSTALL_LOGDIR/pgbench-init.log"
    cmd_psql -c 'CREATE TABLE hot(id int PRIMARY KEY, v int)' \
        -c 'INSERT INTO hot SELECT g, 0 FROM generate_series(1, 10) g' \
        -c 'VACUUM ANALYZE hot'
    trap - EXIT HUP INT TERM
    pgs_log "cluster up (mode $(pgs_mode))"
    pgs_print_env
}

cmd_stop_server() {
    local mode=fast bindir pgdata
    while (($#)); do
        case "$1" in
        --mode) mode=${2:-}; shift ;;
        *) usage >&2; exit 2 ;;
        esac
        shift
    done
    [[ "$mode" == fast || "$mode" == immediate ]] || { usage >&2; exit 2; }
    pgs_require_root
    bindir="$(pgs_bindir)"
    pgdata="$(pgs_pgdata)"
    [[ -f "$pgdata/PG_VERSION" ]] || pgs_die "no cluster at $pgdata: create it with '$0 up'"
    pgs_cluster_running || { pgs_log "postgres at $pgdata is not running"; return 0; }
    (pgs_as_pg_root_cwd "$bindir/pg_ctl" stop -D "$pgdata" -m "$mode" -w -t 60) >&2 ||
        pgs_die "pg_ctl stop failed"
    pgs_log "postgres at $pgdata stopped ($mode); the data dir is kept"
}

# "-c max_connections=N" when PGSTALL_MAX_CONNECTIONS is set (checked), else "".
max_connections_opt() {
    [[ -n "${PGSTALL_MAX_CONNECTIONS:-}" ]] || return 0
    if ! pgs_is_uint "$PGSTALL_MAX_CONNECTIONS" || ((PGSTALL_MAX_CONNECTIONS < 1 || PGSTALL_MAX_CONNECTIONS > 10000)); then
        pgs_die "PGSTALL_MAX_CONNECTIONS must be an integer from 1 to 10000, got '$PGSTALL_MAX_CONNECTIONS'"
    fi
    echo "-c max_connections=$PGSTALL_MAX_CONNECTIONS"
}

cmd_start_server() {
    local wait=(-w -t 60) bindir pgdata opts
    while (($#)); do
        case "$1" in
        --no-wait) wait=(-W) ;;
        *) usage >&2; exit 2 ;;
        esac
        shift
    done
    pgs_require_root
    bindir="$(pgs_bindir)"
    pgdata="$(pgs_pgdata)"
    [[ -f "$pgdata/PG_VERSION" ]] || pgs_die "no cluster at $pgdata: create it with '$0 up'"
    opts="$(max_connections_opt)"
    if [[ -n "$opts" ]]; then wait+=(-o "$opts"); fi
    if ! pgs_cluster_running; then
        (pgs_as_pg_root_cwd "$bindir/pg_ctl" start -D "$pgdata" -l "$PGSTALL_LOGDIR/postgresql.log" "${wait[@]}") >&2 ||
            pgs_die "pg_ctl start failed, see $PGSTALL_LOGDIR/postgresql.log"
    fi
    pgs_print_env
}

cmd_env() {
    pgs_print_env
    pgs_cluster_running || { pgs_log "cluster is not running"; return 3; }
}

cmd_status() {
    if pgs_cluster_running; then return 0; fi
    return 3
}

cmd_psql() {
    local args=(-X -q -v ON_ERROR_STOP=1 -h "$PGSTALL_PGHOST" -p "$PGSTALL_PGPORT" -U postgres -d "$PGSTALL_DB")
    if [[ "$(id -un)" == "$PGSTALL_OS_USER" ]]; then
        "$(pgs_psql_bin)" "${args[@]}" "$@"
    else
        pgs_require_root
        pgs_as_pg "$(pgs_psql_bin)" "${args[@]}" "$@"
    fi
}

main() {
    local cmd=${1:-}
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    stop-server) cmd_stop_server "$@" ;;
    start-server) cmd_start_server "$@" ;;
    env) cmd_env ;;
    status) cmd_status ;;
    psql) cmd_psql "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
    esac
}

main "$@"
