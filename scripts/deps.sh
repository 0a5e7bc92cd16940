#!/usr/bin/env bash
# Install everything pgstall needs to build and test (Debian 12), and mount
# tracefs. Idempotent: when all packages are present it only asks dpkg.
set -euo pipefail

PGS_SELF=deps

PACKAGES=(
    build-essential cmake clang llvm libbpf-dev bpftool
    libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
    libelf-dev libdw-dev zlib1g-dev libpq-dev libxml2-dev libpng-dev libgtest-dev googletest
    postgresql postgresql-contrib bpftrace
    e2fsprogs util-linux procps psmisc
)
# Only the tests need these (--tests): a browser to render the flame-graph SVG.
TEST_PACKAGES=(chromium)

log() { printf '[%s %s] %s\n' "$(date +%T)" "$PGS_SELF" "$*" >&2; }

usage() {
    cat <<EOF
Usage: $0 [--tests] [--check] [--help]

Installs with apt-get (only when something is missing; then 'apt-get update'
runs first) and mounts tracefs at /sys/kernel/tracing if it is not mounted.
  --tests   also what the tests need: ${TEST_PACKAGES[*]}
  --check   only report missing packages; exit 1 if any

Packages: ${PACKAGES[*]}

Example:
  sudo scripts/deps.sh
EOF
}

missing_packages() {
    local pkg status
    for pkg in "${PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
        # "ii " = installed and configured.
        [[ "$status" == ii* ]] || echo "$pkg"
    done
    return 0
}

mount_tracefs() {
    if mountpoint -q /sys/kernel/tracing; then
        return 0
    fi
    # Tracepoint attach through libbpf/bpftrace wants tracefs for event ids.
    mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null ||
        log "WARNING: could not mount tracefs at /sys/kernel/tracing; tracepoint-based tools may fail"
}

main() {
    local check=0 missing arg
    for arg in "$@"; do
        case "$arg" in
        --tests) PACKAGES+=("${TEST_PACKAGES[@]}") ;;
        --check) check=1 ;;
        -h | --help) usage; return 0 ;;
        *) usage >&2; return 2 ;;
        esac
    done

    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        log "all ${#PACKAGES[@]} packages already installed"
    elif ((check)); then
        log "missing: ${missing[*]}"
        return 1
    else
        [[ $EUID -eq 0 ]] || { log "ERROR: must run as root to install: ${missing[*]}"; return 1; }
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q "${missing[@]}"
    fi

    if ((check == 0)) && [[ $EUID -eq 0 ]]; then
        mount_tracefs
    fi
}

main "$@"
