#!/usr/bin/env bash
# Soak of `pgstall watch`: a long run against a throwaway cluster under a
# mixed pgbench load with a real stall provoked every few minutes. Samples
# pgstall's memory, CPU, open descriptors and BPF map use every minute, and
# checks at the end that none of them grows without bound, that nothing was
# lost silently and that every stall provoked was flagged.
set -euo pipefail

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A cluster of its own: never the demo's or the tests' (set before lib.sh reads them).
export PGSTALL_PGDIR="${PGSTALL_SOAK_PGDIR:-/tmp/pgstall-soak}"
export PGSTALL_PGPORT="${PGSTALL_SOAK_PGPORT:-54351}"
PGS_SELF=soak
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_ROOT/scripts/lib.sh"

usage() {
    cat <<EOF
Usage: sudo bench/soak.sh [OPTIONS]

Runs 'pgstall watch --json --data-dir <cluster>' for a long time against a
throwaway PostgreSQL cluster (\$PGSTALL_SOAK_PGDIR, default /tmp/pgstall-soak,
port \$PGSTALL_SOAK_PGPORT, default 54351; created with scripts/pgcluster.sh
and removed on exit unless it was already running or --keep is given).

Load, for the whole run: 'pgbench -S' and built-in TPC-B side by side, each
rate-limited (-R) so a shared machine stays usable. Every --stall-every
seconds a real stall is provoked for --stall-seconds, alternately a row lock
(scripts/scenario/rowlock.sh) and an advisory lock (advisory.sh): a waiter
blocked by a session that holds the lock.

Every --sample seconds one CSV line: elapsed s, pgstall's VmRSS and VmHWM
(kB), its CPU over the interval (% of one core), open descriptors, the
cluster's processes, descriptors beyond two per process (pgstall keeps a
pidfd and a wait-event reader per process), entries in pgstall's hash and
stack BPF maps (bpftool), stall / stall_end / drops lines so far.

Checks at the end (exit 1 if one fails; the table says which):
  rss      VmRSS at the end <= 1.25 x VmRSS at the second sample + 8 MiB
  fds      descriptors beyond two per process vary by at most 16 after the
           first sample
  maps     hash/stack map entries at the end <= 2 x the largest after the
           first sample + 64 (no table that only grows)
  losses   every loss counter in the summary is 0, or was said in a drops
           line while it happened
  stalls   every waiter provoked was flagged (a "stall" line with its pid)
  exit     pgstall exited 0 after SIGINT

Options:
  --minutes N        how long (default 60)
  --sample S         seconds between samples (default 60)
  --stall-every S    seconds between provoked stalls (default 120)
  --stall-seconds S  how long each stall is held (default 15)
  --select-clients N pgbench -S clients (default 16)
  --tpcb-clients N   TPC-B clients (default 4)
  --select-rate TPS  pgbench -R for -S (default 400; 0: unlimited)
  --tpcb-rate TPS    pgbench -R for TPC-B (default 50; 0: unlimited)
  --csv FILE         the samples (default DIR/soak.csv)
  --out-dir DIR      pgstall's output, pgbench logs, the samples and the
                     summary (default: a new /tmp/pgstall-soak.XXXXXX)
  --pgstall PATH     the pgstall binary (default build/pgstall)
  --keep             leave the cluster running at the end
  -h, --help         this text

The Markdown summary goes to stdout (and DIR/summary.md); progress to stderr.

Examples:
  sudo nice -n 15 bench/soak.sh                          # one hour
  sudo nice -n 15 bench/soak.sh --minutes 10 --stall-every 60
EOF
}

MINUTES=60
SAMPLE=60
STALL_EVERY=120
STALL_SECONDS=15
SELECT_CLIENTS=16
TPCB_CLIENTS=4
SELECT_RATE=400
TPCB_RATE=50
CSV=""
OUT_DIR=""
PGSTALL_BIN="$BENCH_ROOT/build/pgstall"
KEEP=0

usage_error() {
    echo "bench/soak.sh: $*" >&2
    echo "Try 'bench/soak.sh --help'." >&2
    exit 2
}

parse_args() {
    local opt val has_val name
    while (($#)); do
        opt=$1 has_val=0 val=""
        if [[ "$opt" == --*=* ]]; then
            val=${opt#*=} opt=${opt%%=*} has_val=1
        fi
        case "$opt" in
        -h | --help) usage; exit 0 ;;
        --keep) KEEP=1; shift; continue ;;
        --minutes | --sample | --stall-every | --stall-seconds | --select-clients | --tpcb-clients | \
            --select-rate | --tpcb-rate | --csv | --out-dir | --pgstall)
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
        --minutes) MINUTES=$val ;;
        --sample) SAMPLE=$val ;;
        --stall-every) STALL_EVERY=$val ;;
        --stall-seconds) STALL_SECONDS=$val ;;
        --select-clients) SELECT_CLIENTS=$val ;;
        --tpcb-clients) TPCB_CLIENTS=$val ;;
        --select-rate) SELECT_RATE=$val ;;
        --tpcb-rate) TPCB_RATE=$val ;;
        --csv) CSV=$val ;;
        --out-dir) OUT_DIR=$val ;;
        --pgstall) PGSTALL_BIN=$val ;;
        esac
    done
    for name in MINUTES SAMPLE STALL_EVERY STALL_SECONDS SELECT_CLIENTS TPCB_CLIENTS SELECT_RATE TPCB_RATE; do
        pgs_is_uint "${!name}" || usage_error "--${name,,} must be a whole number, got '${!name}'"
    done
    ((MINUTES >= 1 && MINUTES <= 10080)) || usage_error "--minutes must be from 1 to 10080 (a week), got $MINUTES"
    ((SAMPLE >= 5)) || usage_error "--sample must be at least 5 seconds"
    ((MINUTES * 60 >= 3 * SAMPLE)) || usage_error "the run must hold at least three samples (--minutes, --sample)"
    ((STALL_SECONDS >= 8)) || usage_error "--stall-seconds must be at least 8 (lock-sleep flags at 5 s)"
    ((STALL_EVERY > STALL_SECONDS + 5)) || usage_error "--stall-every must exceed --stall-seconds by more than 5"
    ((SELECT_CLIENTS >= 1 && TPCB_CLIENTS >= 1)) || usage_error "--select-clients and --tpcb-clients must be at least 1"
}

check_prereqs() {
    if [[ $EUID -ne 0 ]]; then
        echo "bench/soak.sh: needs root (BPF, a cluster run as 'postgres'): sudo bench/soak.sh ..." >&2
        exit 1
    fi
    [[ "$PGSTALL_BIN" == */* ]] || PGSTALL_BIN="./$PGSTALL_BIN"
    [[ -x "$PGSTALL_BIN" && -f "$PGSTALL_BIN" ]] ||
        pgs_die "no pgstall binary at $PGSTALL_BIN: build it with 'bash scripts/build.sh' (or pass --pgstall PATH)"
    PGSTALL_BIN="$(realpath "$PGSTALL_BIN")"
    local t
    for t in bpftool jq setpriv; do
        command -v "$t" >/dev/null || pgs_die "$t is missing (apt-get install bpftool jq util-linux)"
    done
}

# ---------------------------------------------------------------------------
# Measurement

CLK_TCK="$(getconf CLK_TCK)"

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

cpu_ticks() { # PID -> utime+stime in clock ticks
    local f
    read -ra f <<<"$(proc_fields "$1")"
    echo "$((${f[11]:-0} + ${f[12]:-0}))"
}

status_kb() { # PID FIELD
    awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0
}

open_fds() { # PID
    local n=0 f
    for f in "/proc/$1/fd/"*; do [[ -e "$f" || -L "$f" ]] && n=$((n + 1)); done
    echo "$n"
}

# The cluster's processes: the postmaster and its children.
cluster_procs() {
    local kids=()
    read -ra kids <"/proc/$PM_PID/task/$PM_PID/children" 2>/dev/null || true
    echo "$((${#kids[@]} + 1))"
}

# Entries in pgstall's hash and stack-trace maps, found through its open
# descriptors (/proc/PID/fdinfo names each map's type and id; task storage
# and arrays cannot be listed; the ring's fill is not visible from here).
# Prints "MAPS ENTRIES".
map_entries() { # PID
    local f type id maps=0 total=0 n
    for f in "/proc/$1/fdinfo/"*; do
        type="" id=""
        while read -r k v; do
            case "$k" in
            map_type:) type=$v ;;
            map_id:) id=$v ;;
            esac
        done <"$f" 2>/dev/null || continue
        [[ -n "$id" ]] || continue
        maps=$((maps + 1))
        # BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_STACK_TRACE = 7
        [[ "$type" == 1 || "$type" == 7 ]] || continue
        n="$(bpftool map dump id "$id" -j 2>/dev/null | jq length 2>/dev/null || echo 0)"
        total=$((total + n))
    done
    echo "$maps $total"
}

count_lines() { # TYPE
    grep -cF "\"type\":\"$1\"" "$WATCH_OUT" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Cluster, load, stalls

CLUSTER_OURS=0
PM_PID=""
WATCH_PID=""
WATCH_OUT=""
PGBENCH_PIDS=()
STALL_NOW=""

on_exit() {
    local rc=$?
    set +e
    trap - INT TERM HUP
    if [[ -n "$STALL_NOW" ]]; then "$BENCH_ROOT/scripts/scenario/$STALL_NOW.sh" stop >/dev/null 2>&1; fi
    for p in "${PGBENCH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    if [[ -n "$WATCH_PID" ]]; then
        kill -INT "$WATCH_PID" 2>/dev/null
        for _ in {1..50}; do alive "$WATCH_PID" || break; sleep 0.1; done
        kill -KILL "$WATCH_PID" 2>/dev/null
        wait "$WATCH_PID" 2>/dev/null
    fi
    for p in "${PGBENCH_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    if ((CLUSTER_OURS)); then
        if ((KEEP)); then
            pgs_log "cluster kept: PGSTALL_PGDIR=$PGSTALL_PGDIR PGSTALL_PGPORT=$PGSTALL_PGPORT scripts/pgcluster.sh psql|down"
        else
            "$BENCH_ROOT/scripts/pgcluster.sh" down >/dev/null || pgs_warn "pgcluster.sh down failed"
        fi
    fi
    exit "$rc"
}

cluster_up() {
    local env_lines
    if pgs_cluster_running; then
        pgs_log "reusing the cluster already running at $PGSTALL_PGDIR (left running at the end)"
    else
        CLUSTER_OURS=1
    fi
    env_lines="$("$BENCH_ROOT/scripts/pgcluster.sh" up)" || pgs_die "scripts/pgcluster.sh up failed"
    PGDATA="$(sed -n 's/^PGSTALL_PGDATA=//p' <<<"$env_lines")"
    [[ -n "$PGDATA" && -d "$PGDATA" ]] || pgs_die "pgcluster.sh up printed no data dir"
    PM_PID="$(pgs_postmaster_pid)"
    [[ -n "$PM_PID" ]] || pgs_die "no postmaster pid for $PGDATA"
}

start_watch() {
    WATCH_OUT="$OUT_DIR/watch.out"
    "$PGSTALL_BIN" watch --json --data-dir "$PGDATA" </dev/null >"$WATCH_OUT" 2>"$OUT_DIR/watch.err" &
    WATCH_PID=$!
    local deadline=$((SECONDS + 60))
    until grep -qF '"type":"start"' "$WATCH_OUT" 2>/dev/null; do
        alive "$WATCH_PID" || pgs_die "pgstall exited before it was attached: $(tail -n 5 "$OUT_DIR/watch.err")"
        ((SECONDS < deadline)) || pgs_die "pgstall not attached after 60 s"
        sleep 0.2
    done
}

start_load() {
    local secs=$((MINUTES * 60 + 120)) PGS_AS_PG sel=() tpcb=()
    ((SELECT_RATE == 0)) || sel=(-R "$SELECT_RATE")
    ((TPCB_RATE == 0)) || tpcb=(-R "$TPCB_RATE")
    pgs_as_pg_prefix
    (cd / && exec "${PGS_AS_PG[@]}" "$(pgs_bindir)/pgbench" -n -S -c "$SELECT_CLIENTS" -j 1 -T "$secs" \
        "${sel[@]}" -P 60 "$PGSTALL_DB") >"$OUT_DIR/pgbench-select.log" 2>&1 &
    PGBENCH_PIDS+=($!)
    (cd / && exec "${PGS_AS_PG[@]}" "$(pgs_bindir)/pgbench" -n -c "$TPCB_CLIENTS" -j 1 -T "$secs" \
        "${tpcb[@]}" -P 60 "$PGSTALL_DB") >"$OUT_DIR/pgbench-tpcb.log" 2>&1 &
    PGBENCH_PIDS+=($!)
}

# Starts the next stall; records "elapsed scenario waiter_pid" in STALLS.
stall_start() { # SCENARIO ELAPSED
    local out waiter
    out="$(PGSTALL_SCENARIO_TIMEOUT=$((STALL_SECONDS + 60)) "$BENCH_ROOT/scripts/scenario/$1.sh" start 2>>"$OUT_DIR/scenarios.log")" ||
        pgs_die "scenario $1 did not start (see $OUT_DIR/scenarios.log)"
    STALL_NOW=$1
    waiter="$(sed -n 's/^WAITER_PID=//p' <<<"$out")"
    [[ -n "$waiter" ]] || pgs_die "scenario $1 printed no WAITER_PID"
    echo "$2 $1 $waiter" >>"$STALLS"
    pgs_log "stall: $1, waiter $waiter"
}

stall_stop() {
    [[ -n "$STALL_NOW" ]] || return 0
    "$BENCH_ROOT/scripts/scenario/$STALL_NOW.sh" stop 2>>"$OUT_DIR/scenarios.log" || pgs_warn "scenario $STALL_NOW stop failed"
    STALL_NOW=""
}

# ---------------------------------------------------------------------------
# The run

take_sample() { # ELAPSED
    local t=$1 ticks rss hwm fds procs extra nmaps maps cpu
    ticks="$(cpu_ticks "$WATCH_PID")"
    rss="$(status_kb "$WATCH_PID" VmRSS)"
    hwm="$(status_kb "$WATCH_PID" VmHWM)"
    fds="$(open_fds "$WATCH_PID")"
    procs="$(cluster_procs)"
    extra=$((fds - 2 * procs))
    read -r nmaps maps <<<"$(map_entries "$WATCH_PID")"
    ((nmaps > 0)) || pgs_die "no BPF map found among pgstall's descriptors (/proc/$WATCH_PID/fdinfo)"
    cpu="$(awk -v d="$((ticks - LAST_TICKS))" -v hz="$CLK_TCK" -v w="$((t - LAST_T))" \
        'BEGIN { printf "%.2f", (w > 0 ? d * 100 / hz / w : 0) }')"
    LAST_TICKS=$ticks LAST_T=$t
    echo "$t,$rss,$hwm,$cpu,$fds,$procs,$extra,$maps,$(count_lines stall),$(count_lines stall_end),$(count_lines drops)" >>"$CSV"
    pgs_log "t=${t}s rss=$((rss / 1024))MiB cpu=${cpu}% fds=$fds (procs $procs) entries in $nmaps maps: $maps; stalls=$(count_lines stall)"
}

run() {
    local start=$SECONDS end next_sample next_stall stall_end_at=0 kind=rowlock now
    end=$((start + MINUTES * 60))
    next_sample=$((start + SAMPLE))
    next_stall=$((start + STALL_EVERY / 2))
    LAST_TICKS="$(cpu_ticks "$WATCH_PID")" LAST_T=0
    echo "elapsed_s,rss_kb,hwm_kb,cpu_pct,fds,cluster_procs,fds_beyond_2_per_proc,bpf_map_entries,stall_lines,stall_end_lines,drops_lines" >"$CSV"
    while ((SECONDS < end)); do
        now=$SECONDS
        alive "$WATCH_PID" || pgs_die "pgstall died at t=$((now - start))s: $(tail -n 5 "$OUT_DIR/watch.err")"
        for p in "${PGBENCH_PIDS[@]}"; do alive "$p" || pgs_die "pgbench $p ended early (logs in $OUT_DIR)"; done
        if ((stall_end_at && now >= stall_end_at)); then
            stall_stop
            stall_end_at=0
        fi
        if ((!stall_end_at && now >= next_stall && now + STALL_SECONDS + 5 < end)); then
            stall_start "$kind" "$((now - start))"
            stall_end_at=$((SECONDS + STALL_SECONDS))
            next_stall=$((next_stall + STALL_EVERY))
            [[ "$kind" == rowlock ]] && kind=advisory || kind=rowlock
        fi
        if ((now >= next_sample)); then
            take_sample "$((now - start))"
            next_sample=$((next_sample + SAMPLE))
        fi
        sleep 1
    done
    stall_stop
}

# ---------------------------------------------------------------------------
# Checks and summary

verdict() { # NAME OK DETAIL
    local ok=PASS
    (($2)) || { ok=FAIL; FAILED=1; }
    printf '| %s | %s | %s |\n' "$1" "$ok" "$3" >>"$SUMMARY"
}

check() {
    local rc=$1 rss2 rss_end ok detail summary c v said missing="" n flagged=0 waiter
    FAILED=0
    {
        echo "## Soak: $MINUTES min, pgbench -S ${SELECT_CLIENTS} clients (-R $SELECT_RATE) + TPC-B ${TPCB_CLIENTS} clients (-R $TPCB_RATE), a stall every ${STALL_EVERY}s"
        echo
        echo "| check | result | detail |"
        echo "|---|---|---|"
    } >"$SUMMARY"
    rss2="$(awk -F, 'NR == 3 { print $2 }' "$CSV")"
    rss_end="$(awk -F, 'END { print $2 }' "$CSV")"
    ok="$(awk -v a="$rss2" -v b="$rss_end" 'BEGIN { print (b <= 1.25 * a + 8192) ? 1 : 0 }')"
    verdict rss "$ok" "VmRSS $((rss2 / 1024)) MiB at the second sample, $((rss_end / 1024)) MiB at the end (peak $(awk -F, 'END { print int($3 / 1024) }' "$CSV") MiB)"

    read -r n v <<<"$(awk -F, 'NR > 2 { if (min == "" || $7 < min) min = $7; if ($7 > max) max = $7 } END { print min + 0, max + 0 }' "$CSV")"
    verdict fds "$(((v - n) <= 16 ? 1 : 0))" "beyond two per postgres process: $n to $v after the first sample (total $(awk -F, 'NR > 1 { if ($5 > m) m = $5 } END { print m }' "$CSV") at most)"

    read -r n v <<<"$(awk -F, 'NR > 2 { if ($8 > max) max = $8 } END { print max + 0 }' "$CSV") $(awk -F, 'END { print $8 }' "$CSV")"
    verdict maps "$((v <= 2 * n + 64 ? 1 : 0))" "hash and stack map entries: at most $n after the first sample, $v at the end"

    summary="$(grep -F '"type":"summary"' "$WATCH_OUT" | tail -n1 || true)"
    if [[ -z "$summary" ]]; then
        verdict losses 0 "no summary line from pgstall"
    else
        ok=1 detail=""
        for c in ring_drops untracked_children processes_untracked block_requests_unrecorded user_stacks_lost \
            stacks_lost stack_weights_lost; do
            v="$(jq -r --arg c "$c" '.counters[$c] // "missing"' <<<"$summary")"
            [[ "$v" == missing ]] && { ok=0; detail+=" $c missing;"; continue; }
            ((v == 0)) && continue
            said="$(grep -F '"type":"drops"' "$WATCH_OUT" | grep -cF "\"counter\":\"$c\"" || true)"
            ((said > 0)) || ok=0
            detail+=" $c=$v (said in $said drops lines);"
        done
        verdict losses "$ok" "${detail:- every loss counter 0}"
    fi

    n=0
    while read -r _ _ waiter; do
        n=$((n + 1))
        if grep -F '"type":"stall"' "$WATCH_OUT" | grep -qF "\"pid\":$waiter,"; then
            flagged=$((flagged + 1))
        else
            missing+=" $waiter"
        fi
    done <"$STALLS"
    verdict stalls "$(((n > 0 && flagged == n) ? 1 : 0))" "$flagged of $n provoked stalls flagged${missing:+ (missing:$missing)}; $(count_lines stall) stall lines in all"
    verdict exit "$((rc == 0 ? 1 : 0))" "pgstall exited $rc after SIGINT"
    {
        echo
        echo "Samples: $CSV; pgstall's output: $WATCH_OUT; pgbench: $(tail -n1 "$OUT_DIR/pgbench-select.log" 2>/dev/null | tr -d '\n') / $(tail -n1 "$OUT_DIR/pgbench-tpcb.log" 2>/dev/null | tr -d '\n')"
    } >>"$SUMMARY"
    cat "$SUMMARY"
    return "$FAILED"
}

main() {
    parse_args "$@"
    check_prereqs
    if [[ -z "$OUT_DIR" ]]; then OUT_DIR="$(mktemp -d /tmp/pgstall-soak.XXXXXX)"; else mkdir -p "$OUT_DIR"; fi
    CSV="${CSV:-$OUT_DIR/soak.csv}"
    STALLS="$OUT_DIR/stalls.txt"
    SUMMARY="$OUT_DIR/summary.md"
    : >"$STALLS"
    trap on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    cluster_up
    start_watch
    start_load
    pgs_log "soak: $MINUTES min; samples every ${SAMPLE}s to $CSV; output in $OUT_DIR"
    run
    local rc=0
    for p in "${PGBENCH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PGBENCH_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PGBENCH_PIDS=()
    take_sample "$((MINUTES * 60))"
    kill -INT "$WATCH_PID"
    wait "$WATCH_PID" || rc=$?
    WATCH_PID=""
    check "$rc"
}

main "$@"
