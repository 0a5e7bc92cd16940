# shellcheck shell=bash
# Shared helpers for pgstall's scripts (cluster, scenarios, demo, tests).
# Sourced, never executed. Callers set `set -euo pipefail` themselves.
#
# Conventions:
#  * stdout carries only KEY=VALUE lines meant for the caller (see pgs_kv:
#    safe for `eval`, and plain values need no unquoting); every log line
#    goes to stderr.
#  * Every background process a scenario starts is recorded (pid + start time,
#    so a recycled pid is never killed) in $PGSTALL_SCENARIO_DIR/<name>.pids
#    and every backend it opens in <name>.backends, so `stop`,
#    `pgcluster.sh down` and the watchdog can all undo it.

if [[ -n "${PGSTALL_LIB_SOURCED:-}" ]]; then
    return 0
fi
PGSTALL_LIB_SOURCED=1

# Layout; several of these are used only by the sourcing scripts.
# shellcheck disable=SC2034
{
    PGSTALL_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    # Resolved once: liveness checks compare it with /proc/PID/cwd, which
    # the kernel reports without symlinks.
    PGSTALL_PGDIR="$(realpath -m "${PGSTALL_PGDIR:-/tmp/pgstall-pg}")"
    PGSTALL_PGPORT="${PGSTALL_PGPORT:-54329}"
    PGSTALL_PGHOST="$PGSTALL_PGDIR/sock"
    PGSTALL_LOGDIR="$PGSTALL_PGDIR/log"
    PGSTALL_SCENARIO_DIR="$PGSTALL_PGDIR/scenario"
    PGSTALL_IMAGE="$PGSTALL_PGDIR/disk.img"
    PGSTALL_MOUNT="$PGSTALL_PGDIR/mnt"
    PGSTALL_MODE_FILE="$PGSTALL_PGDIR/mode"
    PGSTALL_SCENARIO_TIMEOUT="${PGSTALL_SCENARIO_TIMEOUT:-120}"
    PGSTALL_DB=pgstall
    PGSTALL_OS_USER=postgres
}
export PGSTALL_PGDIR PGSTALL_PGPORT

pgs_log() { printf '[%s %s] %s\n' "$(date +%T)" "${PGS_SELF:-pgstall}" "$*" >&2; }
pgs_warn() { pgs_log "WARNING: $*"; }
pgs_die() { pgs_log "ERROR: $*"; exit 1; }

# KEY=VALUE on stdout. Plain values (paths, numbers, pid lists) print as-is
# so non-shell parsers can split on the first '='; anything else is %q
# quoted so `eval "$(script ...)"` stays safe.
pgs_kv() {
    if [[ "$2" =~ ^[A-Za-z0-9_./,:@%+=-]*$ ]]; then
        printf '%s=%s\n' "$1" "$2"
    else
        printf '%s=%q\n' "$1" "$2"
    fi
}

pgs_require_root() {
    [[ $EUID -eq 0 ]] || pgs_die "must run as root (it starts processes as '$PGSTALL_OS_USER', mounts and freezes filesystems)"
}

pgs_is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

# Highest installed major version. /usr/local/bin has an unrelated pg_ctl, so
# never rely on PATH.
pgs_bindir() {
    local d best="" best_v=-1 v
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/postgres" ]] || continue
        v="$(basename "$(dirname "$d")")"
        pgs_is_uint "$v" || continue
        if ((v > best_v)); then best="$d"; best_v=$v; fi
    done
    [[ -n "$best" ]] || pgs_die "no PostgreSQL found under /usr/lib/postgresql/*/bin (run scripts/deps.sh)"
    printf '%s\n' "$best"
}

# Cluster layout: "loop" (data dir on a loop-mounted ext4 image, freezable)
# or "plain" (data dir directly under $PGSTALL_PGDIR).
pgs_mode() {
    if [[ -f "$PGSTALL_MODE_FILE" ]]; then cat "$PGSTALL_MODE_FILE"; else echo none; fi
}

pgs_pgdata() {
    if [[ "$(pgs_mode)" == loop ]]; then echo "$PGSTALL_MOUNT/data"; else echo "$PGSTALL_PGDIR/data"; fi
}

# Postmaster pid if this cluster's postmaster is alive, else empty.
pgs_postmaster_pid() {
    local pgdata pid
    pgdata="$(pgs_pgdata)"
    [[ -r "$pgdata/postmaster.pid" ]] || return 0
    pid="$(head -n1 "$pgdata/postmaster.pid" 2>/dev/null || true)"
    pgs_is_uint "$pid" || return 0
    # The postmaster chdirs into its data dir: that ties the pid to this
    # cluster (and not to a recycled pid).
    if [[ "/proc/$pid/cwd" -ef "$pgdata" ]]; then echo "$pid"; fi
    return 0
}

pgs_cluster_running() { [[ -n "$(pgs_postmaster_pid)" ]]; }

pgs_require_cluster() {
    pgs_cluster_running || pgs_die "cluster is not running: start it with scripts/pgcluster.sh up [--loop]"
}

# Command prefix that runs the rest as the postgres OS user. setpriv and env
# exec (no extra fork), so a backgrounded call's $! is the command's own pid.
# The libpq env vars point at our cluster so a stray PGHOST/PGDATABASE in the
# caller's environment cannot leak in.
pgs_as_pg_prefix() {
    PGS_AS_PG=(setpriv --reuid="$PGSTALL_OS_USER" --regid="$PGSTALL_OS_USER" --init-groups
        env HOME="$(getent passwd "$PGSTALL_OS_USER" | cut -d: -f6)"
        PGHOST="$PGSTALL_PGHOST" PGPORT="$PGSTALL_PGPORT" PGUSER=postgres
        PGDATABASE="$PGSTALL_DB" PGCONNECT_TIMEOUT=10)
}

pgs_as_pg() {
    local PGS_AS_PG
    pgs_as_pg_prefix
    "${PGS_AS_PG[@]}" "$@"
}

# Same, from a directory postgres can read (initdb/pg_ctl complain otherwise).
pgs_as_pg_root_cwd() { (cd / && pgs_as_pg "$@"); }

pgs_psql_bin() { echo "$(pgs_bindir)/psql"; }

# One-shot psql against the cluster; -At so results are easy to parse.
# Time-boxed: a check must never hang a script (e.g. on a frozen fs).
pgs_sql() {
    timeout 30 "$PGSTALL_SCRIPTS_DIR/pgcluster.sh" psql -At -c "$1"
}

pgs_print_env() {
    local pgdata pid
    pgdata="$(pgs_pgdata)"
    pid="$(pgs_postmaster_pid)"
    pgs_kv PGSTALL_PGDATA "$pgdata"
    pgs_kv PGSTALL_PGHOST "$PGSTALL_PGHOST"
    pgs_kv PGSTALL_PGPORT "$PGSTALL_PGPORT"
    pgs_kv PGSTALL_POSTMASTER_PID "$pid"
    pgs_kv PGSTALL_BINDIR "$(pgs_bindir)"
    if [[ "$(pgs_mode)" == loop ]]; then pgs_kv PGSTALL_MOUNT "$PGSTALL_MOUNT"; fi
}

# pgs_wait_until SECONDS DESCRIPTION CMD... — poll CMD every 0.2 s.
# Bash quirk behind the ( ) here and elsewhere: a trap firing during a
# *function call* that has redirections runs with those redirections still
# applied, so the cleanup's log lines would vanish into /dev/null.
# Redirecting a subshell instead leaves the main shell's fds alone.
pgs_wait_until() {
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + secs))
    until ("$@") >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            pgs_log "timed out after ${secs}s waiting for: $what"
            return 1
        fi
        sleep 0.2
    done
}

pgs_thaw() {
    # EINVAL when not frozen: expected, so stay quiet.
    if mountpoint -q "$PGSTALL_MOUNT" 2>/dev/null; then
        fsfreeze -u "$PGSTALL_MOUNT" 2>/dev/null || true
    fi
}

# ---------------------------------------------------------------------------
# Process bookkeeping

# Start time (clock ticks since boot) of a pid; empty if gone.
pgs_starttime() {
    local stat fields
    { stat="$(<"/proc/$1/stat")"; } 2>/dev/null || return 0
    # Field 22; split only after the ")" that closes comm (comm may hold spaces).
    read -ra fields <<<"${stat##*) }"
    echo "${fields[19]:-}"
}

pgs_record_pid() { # NAME PID
    printf '%s %s\n' "$2" "$(pgs_starttime "$2")" >>"$PGSTALL_SCENARIO_DIR/$1.pids"
}

pgs_record_backend() { # NAME BACKEND_PID
    printf '%s\n' "$2" >>"$PGSTALL_SCENARIO_DIR/$1.backends"
}

# Alive and still the process we recorded?
pgs_pid_matches() { # PID STARTTIME
    [[ -n "$1" && -d "/proc/$1" && "$(pgs_starttime "$1")" == "$2" ]]
}

# Kill the recorded processes of one pids file. Every scenario process runs
# in its own session (setsid), so signalling the group also takes its
# children (e.g. the `sleep` inside a watchdog).
pgs_kill_pidfile() {
    local file=$1 pid st alive i sig
    [[ -f "$file" ]] || return 0
    for sig in TERM KILL; do
        alive=0
        while read -r pid st; do
            [[ -n "$pid" ]] || continue
            # The watchdog ends by running `stop` in its own process: spare it.
            [[ "$pid" == "$$" ]] && continue
            pgs_pid_matches "$pid" "$st" || continue
            kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
            alive=1
        done <"$file"
        ((alive)) || break
        for ((i = 0; i < 25; i++)); do
            alive=0
            while read -r pid st; do
                [[ "$pid" == "$$" ]] && continue
                if pgs_pid_matches "$pid" "$st"; then alive=1; fi
            done <"$file"
            ((alive)) || break
            sleep 0.2
        done
        ((alive)) || break
    done
}

# Terminate the server backends a scenario opened. Needed because a backend
# busy in a long statement does not notice its psql client went away.
pgs_terminate_backends() { # NAME
    local file="$PGSTALL_SCENARIO_DIR/$1.backends" list
    [[ -s "$file" ]] || return 0
    pgs_cluster_running || return 0
    list="$(grep -E '^[0-9]+$' "$file" | paste -sd, -)"
    [[ -n "$list" ]] || return 0
    (pgs_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid IN ($list)") >/dev/null 2>&1 || true
    pgs_wait_until 10 "backends $list to exit" \
        test "$(pgs_sql "SELECT count(*) FROM pg_stat_activity WHERE pid IN ($list)" 2>/dev/null)" = 0 || true
}

# Undo everything one scenario started; safe to call any number of times.
pgs_scenario_cleanup() { # NAME
    local name=$1
    pgs_terminate_backends "$name"
    pgs_kill_pidfile "$PGSTALL_SCENARIO_DIR/$name.pids"
    # Logs and session output stay for debugging; the next start truncates them.
    rm -f "$PGSTALL_SCENARIO_DIR/$name".{pids,backends} \
        "$PGSTALL_SCENARIO_DIR/$name".*.{fifo,pid}
}

pgs_scenario_names() {
    local f
    for f in "$PGSTALL_SCENARIO_DIR"/*.pids; do
        [[ -e "$f" ]] && basename "$f" .pids
    done
    return 0
}

# ---------------------------------------------------------------------------
# Scenario building blocks

# Start a detached background command, record it, print its pid.
# pgs_spawn NAME LOGFILE CMD...
pgs_spawn() {
    local name=$1 log=$2 pid
    shift 2
    # setsid: own process group, so stop can kill it with its children, and a
    # Ctrl-C or hang-up meant for the caller does not reach it.
    setsid "$@" </dev/null >>"$log" 2>&1 &
    pid=$!
    pgs_record_pid "$name" "$pid"
    echo "$pid"
}

pgs_scenario_timeout() {
    if ! pgs_is_uint "$PGSTALL_SCENARIO_TIMEOUT" || ((PGSTALL_SCENARIO_TIMEOUT == 0)); then
        pgs_die "PGSTALL_SCENARIO_TIMEOUT must be a positive integer (seconds), got '$PGSTALL_SCENARIO_TIMEOUT'"
    fi
    echo "$PGSTALL_SCENARIO_TIMEOUT"
}

# Common prologue of every `start`: cluster up, earlier run of the same
# scenario undone, scenario dir present.
pgs_scenario_prepare() { # NAME
    pgs_require_root
    pgs_require_cluster
    mkdir -p "$PGSTALL_SCENARIO_DIR"
    if [[ -e "$PGSTALL_SCENARIO_DIR/$1.pids" ]]; then
        pgs_log "undoing a previous '$1' run first"
        pgs_scenario_cleanup "$1"
    fi
    : >"$PGSTALL_SCENARIO_DIR/$1.pids"
}

# Safety net: after SECONDS run PRE_CMD (may be empty) then `SCRIPT stop`,
# even if nobody else ever does. Detached from the caller's stdout so that
# `$(scenario start)` returns at once.
pgs_watchdog() { # NAME SECONDS SCRIPT [PRE_CMD]
    local name=$1 secs=$2 script=$3 pre=${4:-true}
    # shellcheck disable=SC2016 # expanded by the inner bash
    pgs_spawn "$name" "$PGSTALL_SCENARIO_DIR/$name.watchdog.log" \
        bash -c 'sleep "$1"; echo "watchdog fired after $1 s"; eval "$2" || true; exec "$3" stop' \
        watchdog "$secs" "$pre" "$script" >/dev/null
}

# Open a long-lived psql session fed from a FIFO. A background `sleep`
# holds the FIFO's write end open so psql never sees EOF until that sleep
# ends (the session's own safety timeout) or is killed.
# pgs_session NAME TAG KEEP_SECONDS — prints the backend pid.
pgs_session() {
    local name=$1 tag=$2 keep=$3 base fifo bpid PGS_AS_PG
    base="$PGSTALL_SCENARIO_DIR/$name.$tag"
    fifo="$base.fifo"
    rm -f "$fifo" "$base.out" "$base.err"
    mkfifo -m 600 "$fifo"
    : >"$base.out"
    # The FIFO and output files are opened here, by root: psql itself needs
    # no access to the scenario dir.
    pgs_as_pg_prefix
    setsid "${PGS_AS_PG[@]}" PGAPPNAME="pgstall-$name-$tag" \
        "$(pgs_psql_bin)" -X -q -At -v ON_ERROR_STOP=1 <"$fifo" >"$base.out" 2>"$base.err" &
    pgs_record_pid "$name" "$!"
    setsid sleep "$keep" >"$fifo" 2>/dev/null </dev/null &
    pgs_record_pid "$name" "$!"
    # statement_timeout: a server-side backstop for statements that would
    # otherwise outlive every client-side timeout.
    pgs_send "$name" "$tag" "SET statement_timeout = '$((keep + 5))s'; SELECT pg_backend_pid();"
    if ! pgs_wait_until 15 "session $name/$tag to report its backend pid" \
        grep -qE '^[0-9]+$' "$base.out"; then
        pgs_log "psql stderr: $(cat "$base.err" 2>/dev/null)"
        return 1
    fi
    bpid="$(grep -m1 -E '^[0-9]+$' "$base.out")"
    echo "$bpid" >"$base.pid"
    pgs_record_backend "$name" "$bpid"
    echo "$bpid"
}

# Send SQL to a session. Writing to a FIFO with no reader would block, so
# the write is time-boxed.
pgs_send() { # NAME TAG SQL
    local fifo="$PGSTALL_SCENARIO_DIR/$1.$2.fifo"
    [[ -p "$fifo" ]] || {
        pgs_log "no session $1/$2"
        return 1
    }
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 5 bash -c 'printf "%s\n" "$1" >"$2"' send "$3" "$fifo"
}

# Query returning a single value; pid lists are comma-separated.
pgs_sql_value() { pgs_sql "$1" 2>/dev/null | head -n1; }

# Wait for N pgbench client backends that were not in BEFORE (a comma list
# taken before pgbench started, so a concurrent pgbench is not mixed in),
# record them as the scenario's backends and print them comma-separated.
pgs_new_pgbench_backends() { # NAME N BEFORE
    local name=$1 n=$2 before=${3:-0} list
    local q="SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'
             AND backend_type = 'client backend' AND pid NOT IN (${before:-0}) ORDER BY pid"
    # A function, so that each try counts anew ($(...) in the arguments
    # would be expanded once, before the first try).
    pgs_wait_until 30 "$n pgbench backends" pgs_rows_at_least "$n" "$q" || return 1
    list="$(pgs_sql "$q" | paste -sd, -)"
    tr ',' '\n' <<<"$list" >>"$PGSTALL_SCENARIO_DIR/$name.backends"
    echo "$list"
}

pgs_rows_at_least() { # N SQL
    (($(pgs_sql "$2" 2>/dev/null | grep -c .) >= $1))
}

pgs_pgbench_backends_now() {
    pgs_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'" | paste -sd, -
}

# pg_stat_activity predicate holds for a pid?
pgs_activity_is() { # PID SQL_CONDITION
    [[ "$(pgs_sql_value "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND ($2)")" == 1 ]]
}

# Its negation, which also holds once the backend is gone (pgs_activity_is
# on a gone pid is false whatever the condition). False if the query fails.
pgs_activity_not() { # PID SQL_CONDITION
    [[ "$(pgs_sql_value "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND ($2)")" == 0 ]]
}

# Scenarios that freeze or throttle the cluster's own disk need the loop mount.
pgs_require_loop() {
    if [[ "$(pgs_mode)" != loop ]] || ! mountpoint -q "$PGSTALL_MOUNT"; then
        pgs_die "needs the loop-mounted cluster: run 'scripts/pgcluster.sh down' then 'scripts/pgcluster.sh up --loop'"
    fi
}

# major:minor of the device under the cluster's loop mount.
pgs_loop_device() {
    local dev
    dev="$(lsblk -ndo MAJ:MIN "$(findmnt -no SOURCE "$PGSTALL_MOUNT")" | tr -d ' ')"
    [[ "$dev" =~ ^[0-9]+:[0-9]+$ ]] || pgs_die "cannot find the device of $PGSTALL_MOUNT"
    echo "$dev"
}

# A cgroup v1 blkio group throttling the cluster's device: removed with
# pgs_blkio_group_remove on every exit path (a watchdog's stop included).
pgs_blkio_group_create() { # CGROUP SETTING VALUE  (e.g. write_iops_device 4)
    [[ -d /sys/fs/cgroup/blkio ]] || pgs_die "no cgroup v1 blkio hierarchy at /sys/fs/cgroup/blkio"
    mkdir -p "$1"
    echo "$(pgs_loop_device) $3" >"$1/blkio.throttle.$2"
}

# Moves its processes back to the root group, then removes it.
pgs_blkio_group_remove() { # CGROUP
    local p
    [[ -d "$1" ]] || return 0
    while read -r p; do
        [[ -n "$p" ]] && echo "$p" >/sys/fs/cgroup/blkio/cgroup.procs 2>/dev/null || true
    done <"$1/cgroup.procs"
    rmdir "$1" 2>/dev/null || pgs_warn "could not remove $1"
}

# Standard front end of a scenario script: dispatch start/stop/--help.
# Scenario scripts define scenario_start, optionally scenario_stop_pre, and
# a usage text, then call pgs_scenario_main "$@".
pgs_scenario_main() {
    local cmd=${1:-}
    case "$cmd" in
    start)
        shift
        pgs_scenario_prepare "$PGS_SCENARIO"
        # Signals become a plain exit so the EXIT trap below still runs.
        trap 'exit 129' HUP
        trap 'exit 130' INT
        trap 'exit 143' TERM
        # Any failure before the stall is fully in place undoes what was
        # started; on success the watchdog owns the cleanup.
        trap pgs_on_start_exit EXIT
        scenario_start "$@"
        trap - EXIT HUP INT TERM
        ;;
    stop)
        pgs_require_root
        pgs_scenario_stop
        ;;
    -h | --help | help)
        usage
        ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

pgs_on_start_exit() {
    local rc=$?
    if ((rc != 0)); then
        pgs_log "start failed (rc=$rc), cleaning up"
        pgs_scenario_stop || true
    fi
}

pgs_scenario_stop() {
    if declare -F scenario_stop_pre >/dev/null; then scenario_stop_pre || true; fi
    pgs_scenario_cleanup "$PGS_SCENARIO"
    pgs_log "stopped"
}
