#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a throwaway PostgreSQL,
# makes one session hold a row lock while another waits for it, and runs
# `pgstall watch` so you see the stall named, who holds it up, and its end.
# Everything it started is stopped at the end.
#   sudo scripts/demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $EUID -ne 0 ]]; then
    echo "scripts/demo.sh: needs root (pgstall loads BPF programs): sudo scripts/demo.sh" >&2
    exit 1
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing what is missing and building (build/pgstall)"
scripts/deps.sh
scripts/build.sh >/dev/null

export PGSTALL_PGDIR="${PGSTALL_PGDIR:-/tmp/pgstall-demo}"
export PGSTALL_PGPORT="${PGSTALL_PGPORT:-54340}"
trap 'scripts/scenario/rowlock.sh stop >/dev/null 2>&1 || true; scripts/pgcluster.sh down >/dev/null 2>&1 || true' EXIT

say "Starting a throwaway PostgreSQL in $PGSTALL_PGDIR"
eval "$(scripts/pgcluster.sh up 2>/dev/null)"
echo "postmaster pid $PGSTALL_POSTMASTER_PID, data directory $PGSTALL_PGDATA"

say "Provoking a stall: one session updates a row and stays idle in transaction, a second one updates the same row"
eval "$(scripts/scenario/rowlock.sh start 2>/dev/null)"
echo "holder: pid $HOLDER_PID (idle in transaction), waiter: pid $WAITER_PID (blocked)"

say "build/pgstall watch --plain --data-dir $PGSTALL_PGDATA --duration 12s"
echo "(no SQL connection: it reads the kernel, /proc and, read-only, the backends' memory; the holder commits after 9 s)"
( sleep 9; scripts/scenario/rowlock.sh stop >/dev/null 2>&1 ) &
build/pgstall watch --plain --data-dir "$PGSTALL_PGDATA" --duration 12s
wait

say "Done. On a terminal, 'build/pgstall watch' (as root) shows a live view of every postgres process; see docs/RUNBOOK.md"
