#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts its own throwaway
# PostgreSQL (data dir on a loop-mounted ext4 so it can be frozen), runs every
# test (unit, BPF, integration) and stops everything it started.
#   sudo scripts/test.sh               # everything
#   sudo scripts/test.sh -R unit       # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $EUID -ne 0 ]]; then
    echo "scripts/test.sh: needs root (BPF programs, loop devices, fsfreeze): sudo scripts/test.sh" >&2
    exit 1
fi

scripts/deps.sh --tests
scripts/build.sh

# A cluster of its own, apart from any other one on this machine.
export PGSTALL_PGDIR="${PGSTALL_PGDIR:-/tmp/pgstall-test}"
export PGSTALL_PGPORT="${PGSTALL_PGPORT:-54331}"
trap 'scripts/pgcluster.sh down || true' EXIT
scripts/pgcluster.sh down >/dev/null 2>&1 || true
scripts/pgcluster.sh up --loop >/dev/null

ctest --test-dir build --output-on-failure --timeout 300 "$@"
