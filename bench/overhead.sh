#!/usr/bin/env bash
# Overhead of `pgstall watch`, with bpftrace as the peer, on pgbench: TPS and
# busy CPU per transaction against an untraced base, on a throwaway cluster of
# its own. Every round runs each config once, in an order that rotates from
# round to round; ratios are taken against the base of the same round.
set -euo pipefail

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A cluster of its own: never the demo's or the tests' (set before lib.sh reads them).
export PGSTALL_PGDIR="${PGSTALL_BENCH_PGDIR:-/tmp/pgstall-bench}"
export PGSTALL_PGPORT="${PGSTALL_BENCH_PGPORT:-54350}"
PGS_SELF=overhead
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_ROOT/scripts/lib.sh"

BPFTRACE_PROG='tracepoint:raw_syscalls:sys_enter /comm == "postgres"/ { @[pid] = count(); }'

usage() {
    cat <<EOF
Usage: sudo bench/overhead.sh [OPTIONS]

Measures what tracing costs pgbench on a throwaway PostgreSQL cluster
(\$PGSTALL_BENCH_PGDIR, default /tmp/pgstall-bench, port \$PGSTALL_BENCH_PGPORT,
default 54350; created with scripts/pgcluster.sh and removed on exit).

Configs:
  base      no tracer
  watch     build/pgstall watch --json --data-dir <cluster data dir>
  bpftrace  bpftrace -e '$BPFTRACE_PROG'
  LABEL     from --extra LABEL='ARGS': build/pgstall watch --json --data-dir <dir> ARGS;
            ARGS starting with 'record': build/pgstall record --json --data-dir <dir>
            -o DIR/<run>.pgstall REST (the recordings are kept in the output directory)

Each run: prepare the tables (VACUUM branches/tellers, TRUNCATE history,
CHECKPOINT), start the tracer and wait until it is attached, run pgbench -n,
stop the tracer with SIGINT. A tracer that fails to attach, dies, or exits
non-zero invalidates the benchmark: it stops with a non-zero status.
Per round: ratio = TPS(config) / TPS(base). Reported per workload and config:
median, min and max of those ratios, median TPS, busy CPU per transaction
(/proc/stat: all CPUs' jiffies minus idle and iowait over the pgbench run,
divided by its transactions) and its ratio to base, and for a tracer its own
CPU (utime+stime, % of one core over the pgbench run) and VmRSS / VmHWM.

Options:
  --workloads LIST   select (pgbench -S), tpcb (built-in TPC-B); default select,tpcb
  --configs LIST     from base, watch, bpftrace and --extra labels; base is
                     required; default base,watch,bpftrace
  --extra LABEL=ARGS another pgstall config (repeatable); ARGS are split on
                     spaces and passed to pgstall watch. The label is added to
                     the configs if --configs does not name it.
  --rounds N         rounds per workload, at least 5 (default 11)
  --seconds S        pgbench -T per run (default 10)
  --warmup S         an unmeasured base run per workload first (default 5; 0: none)
  --clients N        pgbench -c (default 2)
  --jobs N           pgbench -j (default: = clients)
  --scale N          pgbench -i scale (default 10)
  --csv FILE         write the raw per-round numbers (with ratios) as CSV
  --out-dir DIR      keep tracer output, pgbench logs and the summary here
                     (default: a new /tmp/pgstall-overhead.XXXXXX)
  --pgstall PATH     the pgstall binary (default build/pgstall)
  --keep             leave the cluster running at the end
  -h, --help         this text

The Markdown table goes to stdout (and to DIR/summary.md); progress to stderr.

Examples:
  sudo bench/overhead.sh                                   # full run, ~13 min
  sudo bench/overhead.sh --rounds 5 --seconds 3            # quick smoke run
  sudo bench/overhead.sh --workloads select --configs base,watch --csv /tmp/o.csv
  sudo bench/overhead.sh --extra allsc='--syscalls always' --extra noblk='--no-block'
  sudo bench/overhead.sh --extra rec='record' --extra recnocpu='record --oncpu-hz 0'  # the recorder
EOF
}

# ---------------------------------------------------------------------------
# Options

WORKLOADS=(select tpcb)
CONFIGS=(base watch bpftrace)
declare -A EXTRA_ARGS=()
EXTRA_LABELS=()
ROUNDS=11
RUN_SECONDS=10
WARMUP=5
CLIENTS=2
JOBS=""
SCALE=10
CSV=""
OUT_DIR=""
PGSTALL_BIN="$BENCH_ROOT/build/pgstall"
KEEP=0

usage_error() {
    echo "bench/overhead.sh: $*" >&2
    echo "Try 'bench/overhead.sh --help'." >&2
    exit 2
}

split_list() { # NAME "a,b,c"
    local -n out=$1
    IFS=, read -ra out <<<"$2"
}

parse_args() {
    local opt val has_val
    while (($#)); do
        opt=$1 has_val=0 val=""
        if [[ "$opt" == --*=* ]]; then
            val=${opt#*=} opt=${opt%%=*} has_val=1
        fi
        case "$opt" in
        -h | --help) usage; exit 0 ;;
        --keep) KEEP=1; shift; continue ;;
        --workloads | --configs | --extra | --rounds | --seconds | --warmup | --clients | --jobs | \
            --scale | --csv | --out-dir | --pgstall)
            if ((!has_val)); then
                (($# >= 2)) || usage_error "$opt needs a value"
                val=$2
                shift
            fi
            shift
            ;;
        *) usage_error "unknown argument '$1'" ;;
        esac
        case "$opt" in
        --workloads) split_list WORKLOADS "$val" ;;
        --configs) split_list CONFIGS "$val" ;;
        --extra)
            [[ "$val" == *=* ]] || usage_error "--extra wants LABEL='ARGS', got '$val'"
            local label=${val%%=*}
            [[ "$label" =~ ^[A-Za-z][A-Za-z0-9_-]*$ ]] || usage_error "--extra label '$label': letters, digits, _ and - only"
            case "$label" in base | watch | bpftrace) usage_error "--extra label '$label' is a built-in config" ;; esac
            [[ -z "${EXTRA_ARGS[$label]+x}" ]] || usage_error "--extra label '$label' given twice"
            EXTRA_ARGS[$label]=${val#*=}
            EXTRA_LABELS+=("$label")
            ;;
        --rounds) ROUNDS=$val ;;
        --seconds) RUN_SECONDS=$val ;;
        --warmup) WARMUP=$val ;;
        --clients) CLIENTS=$val ;;
        --jobs) JOBS=$val ;;
        --scale) SCALE=$val ;;
        --csv) CSV=$val ;;
        --out-dir) OUT_DIR=$val ;;
        --pgstall) PGSTALL_BIN=$val ;;
        esac
    done

    local v name
    for name in ROUNDS RUN_SECONDS WARMUP CLIENTS SCALE; do
        pgs_is_uint "${!name}" || usage_error "${name,,} must be a whole number, got '${!name}'"
    done
    JOBS=${JOBS:-$CLIENTS}
    pgs_is_uint "$JOBS" || usage_error "--jobs must be a whole number, got '$JOBS'"
    ((ROUNDS >= 5)) || usage_error "--rounds must be at least 5 (medians of fewer rounds are noise), got $ROUNDS"
    ((RUN_SECONDS >= 1)) || usage_error "--seconds must be at least 1"
    ((CLIENTS >= 1 && JOBS >= 1 && SCALE >= 1)) || usage_error "--clients, --jobs and --scale must be at least 1"
    ((CLIENTS % JOBS == 0)) || usage_error "pgbench wants --clients ($CLIENTS) to be a multiple of --jobs ($JOBS)"

    ((${#WORKLOADS[@]})) || usage_error "--workloads is empty"
    for v in "${WORKLOADS[@]}"; do
        case "$v" in select | tpcb) ;; *) usage_error "unknown workload '$v' (select, tpcb)" ;; esac
    done
    for v in "${EXTRA_LABELS[@]}"; do
        if ! printf '%s\n' "${CONFIGS[@]}" | grep -qxF -- "$v"; then CONFIGS+=("$v"); fi
    done
    local -A seen=()
    for v in "${CONFIGS[@]}"; do
        case "$v" in
        base | watch | bpftrace) ;;
        *) [[ -n "${EXTRA_ARGS[$v]+x}" ]] || usage_error "unknown config '$v' (base, watch, bpftrace or an --extra label)" ;;
        esac
        [[ -z "${seen[$v]+x}" ]] || usage_error "config '$v' listed twice"
        seen[$v]=1
    done
    [[ -n "${seen[base]+x}" ]] || usage_error "--configs must include base: every ratio is to the base of its round"
    ((${#CONFIGS[@]} >= 2)) || usage_error "--configs needs at least one config besides base"
}

uses_pgstall() {
    local c
    for c in "${CONFIGS[@]}"; do
        [[ "$c" == base || "$c" == bpftrace ]] || return 0
    done
    return 1
}

uses_bpftrace() { printf '%s\n' "${CONFIGS[@]}" | grep -qx bpftrace; }

check_prereqs() {
    if [[ $EUID -ne 0 ]]; then
        echo "bench/overhead.sh: needs root (BPF tracers, a cluster run as 'postgres'): sudo bench/overhead.sh ..." >&2
        exit 1
    fi
    if uses_pgstall; then
        [[ "$PGSTALL_BIN" == */* ]] || PGSTALL_BIN="./$PGSTALL_BIN"
        [[ -x "$PGSTALL_BIN" && -f "$PGSTALL_BIN" ]] ||
            pgs_die "no pgstall binary at $PGSTALL_BIN: build it with 'bash scripts/build.sh' (or pass --pgstall PATH)"
        PGSTALL_BIN="$(realpath "$PGSTALL_BIN")"
    fi
    if uses_bpftrace && ! command -v bpftrace >/dev/null; then
        pgs_log "bpftrace is missing: installing the Debian package"
        # The package lists may be stale or missing: update once and retry.
        if ! apt-get install -y -q bpftrace >&2; then
            apt-get update -q >&2 || true
            apt-get install -y -q bpftrace >&2 || pgs_die "could not install bpftrace (apt-get install bpftrace)"
        fi
    fi
    local t
    for t in flock setpriv; do
        command -v "$t" >/dev/null || pgs_die "$t is missing (util-linux)"
    done
}

# ---------------------------------------------------------------------------
# Measurement helpers

CLK_TCK="$(getconf CLK_TCK)"

# "BUSY TOTAL STEAL" jiffies summed over all CPUs. Fields: user nice system
# idle iowait irq softirq steal guest guest_nice; guest time is already in user.
cpu_jiffies() {
    local label user nice system idle iowait irq softirq steal rest total
    read -r label user nice system idle iowait irq softirq steal rest </proc/stat
    total=$((user + nice + system + idle + iowait + irq + softirq + steal))
    echo "$((total - idle - iowait)) $total $steal"
}

# Parsed after the ")" closing comm, which may hold spaces.
proc_fields() { # PID -> fields from state (field 3) on, or nothing if gone
    local stat
    { stat="$(<"/proc/$1/stat")"; } 2>/dev/null || return 0
    echo "${stat##*) }"
}

alive() { # PID: running and not a zombie
    local f
    f="$(proc_fields "$1")"
    [[ -n "$f" && "${f:0:1}" != Z ]]
}

cpu_ticks() { # PID -> utime+stime in clock ticks (all threads)
    local f
    read -ra f <<<"$(proc_fields "$1")"
    echo "$((${f[11]:-0} + ${f[12]:-0}))"
}

# CPU ticks used so far by the cluster and by pgbench: the postmaster with the
# children it has reaped (exited backends), its live children, and the
# children this shell has waited for (the pgbench subshell). What /proc/stat
# counts as busy beyond this and the tracer is other load on the machine
# (or kernel threads working for the cluster, e.g. jbd2 committing WAL).
own_ticks() {
    local p kids=()
    read -ra kids <"/proc/$PM_PID/task/$PM_PID/children" 2>/dev/null || true
    {
        for p in "${kids[@]}"; do cat "/proc/$p/stat" 2>/dev/null; done
        cat "/proc/$PM_PID/stat" "/proc/$$/stat"
    } | awk -v pm="$PM_PID" -v me="$$" '
        { pid = $1; sub(/^.*\) /, "") }
        pid == me { s += $14 + $15; next }
        pid == pm { s += $12 + $13 + $14 + $15; next }
        { s += $12 + $13 }
        END { print s + 0 }'
}

# No forks: it is polled while CPU time is being counted.
pm_children() { # -> PM_KIDS (the kernel's list, in a stable order)
    PM_KIDS=""
    read -r PM_KIDS <"/proc/$PM_PID/task/$PM_PID/children" 2>/dev/null || true
}

status_kb() { # PID FIELD -> kB value from /proc/PID/status
    awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# ---------------------------------------------------------------------------
# Tracers

TRACER_PID=""
TRACER_T0=""
TRACER_LIFE=""
TRACER_DESC=""
TRACER_ERR=""

invalid() { # MESSAGE
    pgs_log "=================================================================="
    pgs_log "INVALID RUN: $*"
    if [[ -n "$TRACER_ERR" && -s "$TRACER_ERR" ]]; then
        pgs_log "last lines of the tracer's stderr ($TRACER_ERR):"
        tail -n 15 "$TRACER_ERR" | sed 's/^/    /' >&2
    fi
    pgs_log "The numbers of this benchmark are not valid; fix the tracer and run it again."
    pgs_log "=================================================================="
    exit 1
}

tracer_cmd() { # CONFIG -> fills TRACER_CMD and TRACER_READY
    local extra=()
    case "$1" in
    bpftrace)
        TRACER_CMD=(bpftrace -e "$BPFTRACE_PROG")
        TRACER_READY='Attaching'
        return
        ;;
    watch) ;;
    *) read -ra extra <<<"${EXTRA_ARGS[$1]}" ;;
    esac
    if [[ "${extra[0]:-}" == record ]]; then
        # A recorder: the same loop, plus stacks, writing OUT_DIR/TAG.pgstall.
        TRACER_CMD=("$PGSTALL_BIN" record --json --data-dir "$PGDATA" -o "$OUT_DIR/$2.pgstall" "${extra[@]:1}")
    else
        TRACER_CMD=("$PGSTALL_BIN" watch --json --data-dir "$PGDATA" "${extra[@]}")
    fi
    TRACER_READY='"type":"start"'
}

start_tracer() { # CONFIG TAG
    local cfg=$1 tag=$2 out deadline
    out="$OUT_DIR/$tag.out"
    TRACER_ERR="$OUT_DIR/$tag.err"
    tracer_cmd "$cfg" "$tag"
    TRACER_DESC="$cfg (${TRACER_CMD[*]})"
    "${TRACER_CMD[@]}" </dev/null >"$out" 2>"$TRACER_ERR" 9>&- &
    TRACER_PID=$!
    TRACER_T0=$EPOCHREALTIME
    deadline=$((SECONDS + 60))
    until grep -qF -- "$TRACER_READY" "$out" 2>/dev/null; do
        if ! alive "$TRACER_PID"; then
            local rc=0
            wait "$TRACER_PID" || rc=$?
            TRACER_PID=""
            invalid "$tag: tracer $TRACER_DESC exited (status $rc) before it was attached"
        fi
        ((SECONDS < deadline)) || invalid "$tag: tracer $TRACER_DESC not attached after 60 s"
        sleep 0.1
    done
    if [[ "$cfg" != bpftrace ]]; then
        # On-demand probes (attached only when pgstall escalates) start
        # detached, and an option may disable some ("error":"disabled ...").
        local missing
        missing="$(grep -F '"type":"start"' "$out" | grep -o '{[^{}]*"attached":false[^{}]*}' |
            grep -vF -e '"on_demand":true' -e '"error":"disabled' |
            sed -E 's/.*"error":"([^"]*)".*"name":"([^"]*)".*/\2 (\1)/' | paste -sd' ' || true)"
        [[ -z "$missing" ]] || pgs_warn "$tag: pgstall says these probes did not attach: $missing"
    fi
}

stop_tracer() { # TAG
    local tag=$1 rc=0 deadline
    if ! alive "$TRACER_PID"; then
        wait "$TRACER_PID" || rc=$?
        TRACER_PID=""
        invalid "$tag: tracer $TRACER_DESC exited during the pgbench run (status $rc)"
    fi
    kill -INT "$TRACER_PID"
    deadline=$((SECONDS + 30))
    while alive "$TRACER_PID" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$TRACER_PID"; then
        kill -KILL "$TRACER_PID" 2>/dev/null || true
        wait "$TRACER_PID" 2>/dev/null || true
        TRACER_PID=""
        invalid "$tag: tracer $TRACER_DESC still running 30 s after SIGINT"
    fi
    wait "$TRACER_PID" || rc=$?
    TRACER_LIFE="$(awk -v a="$TRACER_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
    TRACER_PID=""
    ((rc == 0)) || invalid "$tag: tracer $TRACER_DESC exited with status $rc after SIGINT"
}

# ---------------------------------------------------------------------------
# Cluster and pgbench

CLUSTER_OURS=0
PGDATA=""
PGBENCH=""

on_exit() {
    local rc=$?
    set +e
    trap - INT TERM HUP
    if [[ -n "$TRACER_PID" ]]; then
        kill -INT "$TRACER_PID" 2>/dev/null
        for _ in {1..50}; do alive "$TRACER_PID" || break; sleep 0.1; done
        kill -KILL "$TRACER_PID" 2>/dev/null
        wait "$TRACER_PID" 2>/dev/null
    fi
    if ((CLUSTER_OURS)); then
        if ((KEEP)); then
            pgs_log "cluster kept: PGSTALL_PGDIR=$PGSTALL_PGDIR PGSTALL_PGPORT=$PGSTALL_PGPORT scripts/pgcluster.sh psql|down"
        else
            "$BENCH_ROOT/scripts/pgcluster.sh" down >/dev/null 9>&- || pgs_warn "pgcluster.sh down failed"
        fi
    fi
    exit "$rc"
}

cluster_up() {
    local env_lines fresh=1
    CLUSTER_OURS=1
    if pgs_cluster_running; then
        pgs_log "reusing the cluster already running at $PGSTALL_PGDIR"
        fresh=0
    fi
    # 9>&-: the postmaster must not inherit (and so hold) the benchmark's lock.
    env_lines="$("$BENCH_ROOT/scripts/pgcluster.sh" up 9>&-)" || pgs_die "scripts/pgcluster.sh up failed"
    PGDATA="$(sed -n 's/^PGSTALL_PGDATA=//p' <<<"$env_lines")"
    [[ -n "$PGDATA" && -d "$PGDATA" ]] || pgs_die "pgcluster.sh up printed no data dir"
    PGBENCH="$(pgs_bindir)/pgbench"
    PM_PID="$(pgs_postmaster_pid)"
    [[ -n "$PM_PID" ]] || pgs_die "no postmaster pid for $PGDATA"
    # pgcluster.sh creates a scale-10 dataset; anything else, or a reused
    # cluster that earlier TPC-B runs have bloated, gets a fresh one.
    if ((!fresh || SCALE != 10)); then
        pgs_log "pgbench -i -s $SCALE"
        (pgs_as_pg_root_cwd "$PGBENCH" -i -s "$SCALE" -q "$PGSTALL_DB") >"$OUT_DIR/pgbench-init.log" 2>&1 ||
            pgs_die "pgbench -i failed, see $OUT_DIR/pgbench-init.log"
    fi
    pg_sql 'VACUUM ANALYZE' >/dev/null
}

pg_sql() { # SQL... (each its own -c: VACUUM cannot run in a transaction block)
    local a=() s
    for s in "$@"; do a+=(-c "$s"); done
    timeout 300 "$BENCH_ROOT/scripts/pgcluster.sh" psql -At "${a[@]}" 9>&-
}

# The same start for every run: what pgbench itself does without -n, plus a
# checkpoint so that no run inherits a previous run's dirty buffers.
prepare_tables() {
    pg_sql 'VACUUM pgbench_branches' 'VACUUM pgbench_tellers' 'TRUNCATE pgbench_history' 'CHECKPOINT' >/dev/null ||
        pgs_die "preparing the pgbench tables failed"
}

# Runs pgbench; fills PB_TPS PB_TX PB_WALL PB_BUSY PB_TOTAL PB_STEAL PB_OTHER and, with a
# tracer, PB_TRACER_TICKS PB_RSS PB_HWM.
run_pgbench() { # WORKLOAD SECONDS LOGFILE
    local wl=$1 secs=$2 log=$3 args t0 t1 j0 j1 k0=0 k1=0 o0 o1 kids0 rc=0
    args=(-n -c "$CLIENTS" -j "$JOBS" -T "$secs")
    [[ "$wl" == select ]] && args+=(-S)
    pm_children
    kids0=$PM_KIDS
    o0="$(own_ticks)"
    j0="$(cpu_jiffies)"
    [[ -n "$TRACER_PID" ]] && k0="$(cpu_ticks "$TRACER_PID")"
    t0=$EPOCHREALTIME
    (pgs_as_pg_root_cwd "$PGBENCH" "${args[@]}" "$PGSTALL_DB") >"$log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    j1="$(cpu_jiffies)"
    # Backends exit after pgbench does; their time reaches the postmaster's
    # cutime only once it has reaped them, so wait for that (at most 3 s).
    for _ in {1..30}; do
        pm_children
        [[ "$PM_KIDS" != "$kids0" ]] || break
        sleep 0.1
    done
    o1="$(own_ticks)"
    PB_TRACER_TICKS=0 PB_RSS=0 PB_HWM=0
    if [[ -n "$TRACER_PID" ]]; then
        k1="$(cpu_ticks "$TRACER_PID")"
        PB_TRACER_TICKS=$((k1 - k0))
        PB_RSS="$(status_kb "$TRACER_PID" VmRSS)"
        PB_HWM="$(status_kb "$TRACER_PID" VmHWM)"
    fi
    if ((rc != 0)); then
        tail -n 20 "$log" | sed 's/^/    /' >&2
        pgs_die "pgbench exited with status $rc (log: $log)"
    fi
    PB_TPS="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log" | head -n1)"
    PB_TX="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log" | head -n1)"
    [[ -n "$PB_TPS" && -n "$PB_TX" && "$PB_TX" -gt 0 ]] || pgs_die "no TPS or transaction count in pgbench's output ($log)"
    if grep -qE '^number of failed transactions: [1-9]' "$log"; then
        pgs_warn "pgbench reports failed transactions ($log)"
    fi
    PB_WALL="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    read -r PB_BUSY PB_TOTAL PB_STEAL <<<"$(awk -v a="$j0" -v b="$j1" \
        'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2], y[3] - x[3] }')"
    PB_OTHER=$((PB_BUSY - (o1 - o0) - PB_TRACER_TICKS))
}

# One measured run: one raw TSV line appended to $RAW.
measure() { # WORKLOAD ROUND POSITION CONFIG
    local wl=$1 round=$2 pos=$3 cfg=$4 tag stalls=0 drops=0 esc="" cpu_us tcpu
    TRACER_LIFE=""
    tag="$wl-r$(printf %02d "$round")-$cfg"
    prepare_tables
    [[ "$cfg" == base ]] || start_tracer "$cfg" "$tag"
    # Let the tracer settle (bpftrace prints "Attaching" before it attaches);
    # the base run waits too so every run starts alike.
    sleep 1
    run_pgbench "$wl" "$RUN_SECONDS" "$OUT_DIR/$tag.pgbench.log"
    if [[ "$cfg" != base ]]; then
        stop_tracer "$tag"
        if [[ "$cfg" != bpftrace ]]; then
            stalls="$(grep -cF '"type":"stall"' "$OUT_DIR/$tag.out" || true)"
            drops="$(grep -cF '"type":"drops"' "$OUT_DIR/$tag.out" || true)"
            # How long pgstall had its on-demand syscall tracing attached.
            esc="$(grep -F '"type":"summary"' "$OUT_DIR/$tag.out" | grep -o '"syscall_tracing_s":[0-9.]*' |
                cut -d: -f2 | head -n1 || true)"
        fi
    fi
    cpu_us="$(awk -v b="$PB_BUSY" -v t="$PB_TX" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", b * 1e6 / hz / t }')"
    tcpu="$(awk -v k="$PB_TRACER_TICKS" -v hz="$CLK_TCK" -v w="$PB_WALL" 'BEGIN { printf "%.2f", k * 100 / hz / w }')"
    printf '%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$wl" "$round" "$pos" "$cfg" "$PB_TPS" "$PB_TX" "$PB_WALL" "$PB_BUSY" "$PB_TOTAL" "$cpu_us" \
        "$tcpu" "$PB_RSS" "$PB_HWM" "$stalls" "$drops" "$PB_STEAL" "$PB_OTHER" "$esc" "$TRACER_LIFE" >>"$RAW"
    local more="" other_pct
    other_pct="$(awk -v o="$PB_OTHER" -v t="$PB_TOTAL" 'BEGIN { v = (t > 0 ? 100 * o / t : 0); printf "%d", (v < 0 ? -int(-v + 0.5) : int(v + 0.5)) }')"
    [[ "$cfg" == base ]] || more=", tracer ${tcpu}% of a core, RSS $((PB_RSS / 1024)) MiB"
    ((stalls + drops == 0)) || more+=", $stalls stall and $drops drop events"
    [[ -z "$esc" ]] || more+=", syscall tracing ${esc} s"
    more+=", other load ${other_pct}%"
    pgs_log "$wl round $round/$ROUNDS [$pos/${#CONFIGS[@]}] $cfg: $(printf %.0f "$PB_TPS") tps, ${cpu_us} µs CPU/tx$more"
}

# ---------------------------------------------------------------------------
# Report

# Ratios per round, the CSV, and the Markdown table.
report() {
    local csv_out=$1 md_out=$2 pgver kernel
    pgver="$(pg_sql 'SHOW server_version' 2>/dev/null | head -n1)"
    kernel="$(uname -r)"
    awk -F'\t' -v OFS=, -v secs="$RUN_SECONDS" -v wls="${WORKLOADS[*]}" -v cfgs="${CONFIGS[*]}" -v csv="$csv_out" '
    function sorted(k, n, v,   i, j, t) {
        split("", v)
        for (i = 1; i <= n; i++) v[i] = val[k, i]
        for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    }
    function median(k, n,   v) {
        sorted(k, n, v)
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function rnd(x) { return x < 0 ? -int(-x + 0.5) : int(x + 0.5) }
    function lo(k, n,   v) { sorted(k, n, v); return v[1] }
    function hi(k, n,   v) { sorted(k, n, v); return v[n] }
    function add(what, g, x) { cnt[what, g]++; val[what SUBSEP g, cnt[what, g]] = x }
    NR == FNR { if ($4 == "base") { btps[$1, $2] = $5; bcpu[$1, $2] = $10 } next }
    FNR == 1 {
        print "workload,round,position,config,tps,transactions,wall_s,busy_jiffies,total_jiffies,cpu_us_per_tx,tps_ratio,cpu_per_tx_ratio,tracer_cpu_pct,tracer_rss_kb,tracer_hwm_kb,stall_events,drop_events,steal_jiffies,other_busy_jiffies,syscall_tracing_s,tracer_life_s" > csv
    }
    {
        r = ""; cr = ""
        if (($1, $2) in btps) { r = sprintf("%.4f", $5 / btps[$1, $2]); cr = sprintf("%.4f", $10 / bcpu[$1, $2]) }
        print $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, r, cr, $11, $12, $13, $14, $15, $16, $17, $18, $19 > csv
        g = $1 SUBSEP $4
        if (r != "") { add("ratio", g, r); add("cpur", g, cr) }
        add("tps", g, $5); add("cpu", g, $10); add("other", g, ($9 > 0 ? 100 * $17 / $9 : 0)); add("tcpu", g, $11); add("rss", g, $12 / 1024)
        if ($13 / 1024 > hwm[g]) hwm[g] = $13 / 1024
        stalls[g] += $14; drops[g] += $15
        if ($18 != "") add("esc", g, $18)
        if ($19 != "") add("life", g, $19)
    }
    END {
        OFS = ""
        nw = split(wls, W, " "); nc = split(cfgs, C, " ")
        print "| workload | config | TPS ratio (median) | ratio min–max | TPS median (min–max) | busy CPU µs/tx (median) | CPU/tx ratio (median) | tracer CPU, % of a core | tracer RSS / peak MiB | other load, % of machine (median, max) |"
        print "|---|---|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= nw; i++) for (j = 1; j <= nc; j++) {
            g = W[i] SUBSEP C[j]
            n = cnt["tps", g]; if (!n) continue
            nr = cnt["ratio", g]
            tps = sprintf("%.0f (%.0f–%.0f)", median("tps" SUBSEP g, n), lo("tps" SUBSEP g, n), hi("tps" SUBSEP g, n))
            cpu = sprintf("%.1f", median("cpu" SUBSEP g, n))
            other = sprintf("%d, %d", rnd(median("other" SUBSEP g, n)), rnd(hi("other" SUBSEP g, n)))
            if (C[j] == "base") { ratio = "1.00"; range = "—"; cpur = "1.00"; tc = "—"; mem = "—" }
            else {
                ratio = nr ? sprintf("%.2f", median("ratio" SUBSEP g, nr)) : "?"
                range = nr ? sprintf("%.2f–%.2f", lo("ratio" SUBSEP g, nr), hi("ratio" SUBSEP g, nr)) : "?"
                cpur = nr ? sprintf("%.2f", median("cpur" SUBSEP g, nr)) : "?"
                tc = sprintf("%.1f", median("tcpu" SUBSEP g, n))
                mem = sprintf("%.1f / %.1f", median("rss" SUBSEP g, n), hwm[g])
            }
            print "| ", W[i], " | ", C[j], " | ", ratio, " | ", range, " | ", tps, " | ", cpu, " | ", cpur, " | ", tc, " | ", mem, " | ", other, " |"
            if (cnt["esc", g]) note = note sprintf("\n- %s / %s: pgstall had its syscall tracepoints attached for a median %.1f s (max %.1f) of the tracer'"'"'s %.1f s life in each run (median; it spans the %d s pgbench run), per its summary'"'"'s syscall_tracing_s.", W[i], C[j], median("esc" SUBSEP g, cnt["esc", g]), hi("esc" SUBSEP g, cnt["esc", g]), median("life" SUBSEP g, cnt["life", g]), secs)
            if (stalls[g] || drops[g]) note = note sprintf("\n- %s / %s: %d stall and %d drop events reported during the runs.", W[i], C[j], stalls[g], drops[g])
        }
        print ""
        print "Tracer CPU and RSS are the tracer process'"'"'s own (user space). BPF programs run in the traced processes: their cost shows in busy CPU/tx and in TPS."
        print "Other load: busy CPU (/proc/stat) not used by the cluster, pgbench or the tracer, as a share of both CPUs: other processes on the machine, and kernel threads (some working for the cluster, e.g. WAL commits). It is part of busy CPU/tx."
        if (note != "") print note
    }' "$RAW" "$RAW" >"$md_out.table"

    {
        echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) CPUs, kernel $kernel, PostgreSQL $pgver;" \
            "pgbench scale $SCALE, -c $CLIENTS -j $JOBS, $RUN_SECONDS s per run, $ROUNDS rounds per workload," \
            "config order rotated each round."
        local cmdline="bench/overhead.sh"
        ((${#ORIG_ARGS[@]} == 0)) || cmdline+="$(printf ' %q' "${ORIG_ARGS[@]}")"
        echo "Command: \`$cmdline\`"
        echo
        echo "Configs:"
        local c
        for c in "${CONFIGS[@]}"; do
            case "$c" in
            base) echo "- base: no tracer" ;;
            watch) echo "- watch: \`pgstall watch --json --data-dir DATADIR\`" ;;
            bpftrace) echo "- bpftrace: \`bpftrace -e '$BPFTRACE_PROG'\`" ;;
            *)
                if [[ "${EXTRA_ARGS[$c]}" == record* ]]; then
                    echo "- $c: \`pgstall record --json --data-dir DATADIR -o RUN.pgstall ${EXTRA_ARGS[$c]#record}\`"
                else
                    echo "- $c: \`pgstall watch --json --data-dir DATADIR ${EXTRA_ARGS[$c]}\`"
                fi
                ;;
            esac
        done
        echo
        cat "$md_out.table"
    } >"$md_out"
    rm -f "$md_out.table"
}

# ---------------------------------------------------------------------------

main() {
    ORIG_ARGS=("$@")
    parse_args "$@"
    check_prereqs
    if [[ -n "$CSV" ]]; then
        : 2>/dev/null >"$CSV" || pgs_die "cannot write --csv $CSV"
        CSV="$(realpath "$CSV")"
    fi

    if [[ -z "$OUT_DIR" ]]; then
        OUT_DIR="$(mktemp -d /tmp/pgstall-overhead.XXXXXX)"
    else
        mkdir -p "$OUT_DIR"
    fi
    OUT_DIR="$(realpath "$OUT_DIR")"
    RAW="$OUT_DIR/raw.tsv"
    : >"$RAW"

    # Two benchmarks on one cluster (or one machine) would measure each other.
    # Long-lived children (postmaster, tracers) get fd 9 closed.
    exec 9>"$PGSTALL_PGDIR.lock"
    flock -n 9 || pgs_die "another bench/overhead.sh is running (lock $PGSTALL_PGDIR.lock)"

    trap on_exit EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    pgs_log "output in $OUT_DIR"
    cluster_up

    local wl round i k=${#CONFIGS[@]} cfg
    for wl in "${WORKLOADS[@]}"; do
        if ((WARMUP > 0)); then
            pgs_log "$wl: warm-up, ${WARMUP} s unmeasured"
            prepare_tables
            run_pgbench "$wl" "$WARMUP" "$OUT_DIR/$wl-warmup.pgbench.log"
        fi
        for ((round = 1; round <= ROUNDS; round++)); do
            for ((i = 0; i < k; i++)); do
                cfg=${CONFIGS[$(((i + round - 1) % k))]}
                measure "$wl" "$round" "$((i + 1))" "$cfg"
            done
        done
    done

    local csv_file="${CSV:-$OUT_DIR/rounds.csv}"
    report "$csv_file" "$OUT_DIR/summary.md"
    [[ -z "$CSV" ]] || cp "$csv_file" "$OUT_DIR/rounds.csv" 2>/dev/null || true
    pgs_log "raw per-round numbers: $csv_file; summary: $OUT_DIR/summary.md"
    cat "$OUT_DIR/summary.md"
}

main "$@"
