#!/usr/bin/env bash
# The recorder under load: `pgstall record` during a pgbench run of a given
# length on a throwaway cluster; then the file's size per minute, and how
# long `pgstall report` and `pgstall flamegraph` take to read it.
set -euo pipefail

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGSTALL_PGDIR="${PGSTALL_BENCH_PGDIR:-/tmp/pgstall-bench-rec}"
export PGSTALL_PGPORT="${PGSTALL_BENCH_PGPORT:-54351}"
PGS_SELF=recording
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$BENCH_ROOT/scripts/lib.sh"

usage() {
    cat <<EOF
Usage: sudo bench/recording.sh [--minutes M] [--workload select|tpcb] [--out FILE] [--pgstall PATH]

Starts a throwaway cluster (\$PGSTALL_BENCH_PGDIR, default /tmp/pgstall-bench-rec, port
\$PGSTALL_BENCH_PGPORT, default 54351), runs pgbench (-c 2 -j 2) for M minutes with
'pgstall record' attached, then prints the recording's size (total and per minute), its
record and stack counts, and the wall time of 'pgstall report', 'report --json' and
'flamegraph' (offcpu SVG, oncpu folded) on it. The cluster is removed at the end.

Options:
  --minutes M      length of the pgbench run and the recording (default 10)
  --workload W     select (pgbench -S) or tpcb (default tpcb)
  --out FILE       where the recording goes (default /tmp/pgstall-recording.pgstall; kept)
  --pgstall PATH   the pgstall binary (default build/pgstall)

Example:
  sudo bench/recording.sh --minutes 10
EOF
}

MINUTES=10
WORKLOAD=tpcb
OUT=/tmp/pgstall-recording.pgstall
PGSTALL_BIN="$BENCH_ROOT/build/pgstall"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --minutes) MINUTES="$2"; shift 2 ;;
        --workload) WORKLOAD="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --pgstall) PGSTALL_BIN="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
pgs_require_root
pgs_is_uint "$MINUTES" && ((MINUTES > 0)) || pgs_die "--minutes must be a positive integer"
[[ "$WORKLOAD" == select || "$WORKLOAD" == tpcb ]] || pgs_die "--workload: select or tpcb"
[[ -x "$PGSTALL_BIN" ]] || pgs_die "no pgstall binary at $PGSTALL_BIN (scripts/build.sh)"

trap '"$BENCH_ROOT/scripts/pgcluster.sh" down >/dev/null 2>&1 || true' EXIT
"$BENCH_ROOT/scripts/pgcluster.sh" down >/dev/null 2>&1 || true
pgdata="$("$BENCH_ROOT/scripts/pgcluster.sh" up | sed -n 's/^PGSTALL_PGDATA=//p')"
[[ -n "$pgdata" && -d "$pgdata" ]] || pgs_die "scripts/pgcluster.sh up printed no data directory"

secs=$((MINUTES * 60))
pgs_log "recording ${MINUTES} min of pgbench ($WORKLOAD) to $OUT"
# pgstall never overwrites a recording: an earlier run's is replaced here, on purpose.
rm -f -- "$OUT" "$OUT.svg"
"$PGSTALL_BIN" record --data-dir "$pgdata" -o "$OUT" -d "$((secs + 5))s" > "$OUT.log" 2>&1 &
rec=$!
until grep -q "watching" "$OUT.log" 2>/dev/null; do
    kill -0 "$rec" 2>/dev/null || pgs_die "pgstall record exited: $(cat "$OUT.log")"
    sleep 0.2
done
flags=(-n -c 2 -j 2 -T "$secs" -P 60)
[[ "$WORKLOAD" == select ]] && flags+=(-S)
(pgs_as_pg_root_cwd "$(pgs_bindir)/pgbench" "${flags[@]}" "$PGSTALL_DB") \
    > "$OUT.pgbench.log" 2>&1
wait "$rec"
tail -1 "$OUT.log"

bytes="$(stat -c %s "$OUT")"
tx="$(awk '/number of transactions actually processed/ { print $NF }' "$OUT.pgbench.log" | tr -d ' ')"
timed() { # LABEL CMD...: wall seconds of CMD, its output discarded
    local t0 t1
    t0=$EPOCHREALTIME
    "${@:2}" > /dev/null
    t1=$EPOCHREALTIME
    printf '%s: %.2f s\n' "$1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}
echo "recording: $OUT, ${MINUTES} min of pgbench $WORKLOAD ($tx transactions)"
awk -v b="$bytes" -v m="$MINUTES" 'BEGIN { printf "size: %.1f MiB, %.2f MiB per minute\n", b / 1048576, b / 1048576 / m }'
"$PGSTALL_BIN" report --json "$OUT" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print("report: %d stalls, %d processes, %d snapshots, on-CPU samples %d, lost %s" % (
    len(j["stalls"]), j["processes"], j["snapshots"], j["oncpu_samples"], j["lost"] or "nothing"))'
timed "pgstall report" "$PGSTALL_BIN" report "$OUT"
timed "pgstall report --json" "$PGSTALL_BIN" report --json "$OUT"
timed "pgstall flamegraph (offcpu, svg)" "$PGSTALL_BIN" flamegraph "$OUT" -o "$OUT.svg"
timed "pgstall flamegraph (oncpu, folded)" "$PGSTALL_BIN" flamegraph "$OUT" --kind oncpu --format folded
