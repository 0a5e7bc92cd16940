#!/usr/bin/env bash
# What one uprobe hit costs on this machine: a C loop calls a function N
# times, bare and then with a uprobe on it (bpftrace, counting hits), in
# alternating rounds. The difference per call is the price of a hit (trap,
# BPF program, return), which every USDT probe pgstall attaches pays each
# time it fires.
set -euo pipefail

usage() {
    cat <<EOF
Usage: sudo bench/uprobe_cost.sh [--calls N] [--rounds R]

Prints, per round, ns per call without and with a uprobe on the called
function, and the median cost of one hit. Needs gcc and bpftrace; root.

Options:
  --calls N    calls per measurement (default 200000)
  --rounds R   alternating rounds (default 5)

Example:
  sudo bench/uprobe_cost.sh --rounds 7
EOF
}

CALLS=200000
ROUNDS=5
while [[ $# -gt 0 ]]; do
    case "$1" in
        --calls) CALLS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "uprobe_cost.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "uprobe_cost.sh: needs root (bpftrace)" >&2; exit 1; }
command -v bpftrace >/dev/null || { echo "uprobe_cost.sh: bpftrace is not installed" >&2; exit 1; }

dir="$(mktemp -d /tmp/pgstall-uprobe.XXXXXX)"
bt=""
cleanup() { [[ -n "$bt" ]] && kill "$bt" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
printf '%s\n' \
    '#include <stdio.h>' '#include <stdlib.h>' '#include <time.h>' \
    '__attribute__((noinline)) int probed(int x) { __asm__ volatile(""); return x + 1; }' \
    'int main(int argc, char **argv) {' \
    '  long n = atol(argv[1]); struct timespec a, b; int acc = 0;' \
    '  clock_gettime(CLOCK_MONOTONIC, &a);' \
    '  for (long i = 0; i < n; i++) acc = probed(acc);' \
    '  clock_gettime(CLOCK_MONOTONIC, &b);' \
    '  printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n + 0 * acc);' \
    '  return 0;' '}' > "$dir/loop.c"
gcc -O2 -o "$dir/loop" "$dir/loop.c"

costs=()
for ((r = 1; r <= ROUNDS; r++)); do
    bare="$("$dir/loop" "$CALLS")"
    bpftrace -e "uprobe:$dir/loop:probed { @hits = count(); }" > "$dir/bt.log" 2>&1 &
    bt=$!
    for _ in $(seq 100); do grep -q Attaching "$dir/bt.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
    probed="$("$dir/loop" "$CALLS")"
    kill -INT "$bt"
    wait "$bt" || true
    bt=""
    hits="$(grep -o '@hits: [0-9]*' "$dir/bt.log" | awk '{print $2}')"
    if [[ "$hits" != "$CALLS" ]]; then
        echo "uprobe_cost.sh: expected $CALLS hits, bpftrace counted '${hits:-none}'" >&2
        exit 1
    fi
    cost="$(awk -v a="$probed" -v b="$bare" 'BEGIN { printf "%.0f", a - b }')"
    costs+=("$cost")
    printf 'round %d: %s ns/call bare, %s ns/call with a uprobe (%s hits): %s ns per hit\n' \
        "$r" "$bare" "$probed" "$hits" "$cost"
done
median="$(printf '%s\n' "${costs[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
printf 'median cost of one uprobe hit: %s ns (%s rounds of %s calls; kernel %s)\n' \
    "$median" "$ROUNDS" "$CALLS" "$(uname -r)"
