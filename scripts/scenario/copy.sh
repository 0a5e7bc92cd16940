#!/usr/bin/env bash
# Negative twin of the hot loops: a backend busy with COPY FROM a large file,
# real work that must NOT be called a stall. Its read() calls look alike (the
# same fd, buffer and length, a full buffer every time) but each reads new data.
set -euo pipefail

PGS_SELF=copy
PGS_SCENARIO=copy
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

COPY_TABLE=pgstall_copy
COPY_FILE="$PGSTALL_SCENARIO_DIR/copy.data.tsv"

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  Write a tab-separated file of PGSTALL_COPY_MB megabytes (rows of an id
       and 90 bytes of text) to $COPY_FILE, create the UNLOGGED table
       $COPY_TABLE, then one session COPYs the file into it in a PL/pgSQL loop
       until <timeout> seconds have passed. Postgres reads the file with
       read(fd, buf, 65536) = 65536 until its end. Prints COPY_PID= (backend
       pid), COPY_FILE=, COPY_BYTES= and COPY_KIND=.
stop   Terminate the backend and its session, drop the table, delete the file.

Environment:
  PGSTALL_SCENARIO_TIMEOUT (default 120 s): the loop's deadline and the
      safety timeout.
  PGSTALL_COPY_MB (default 40): the file's size.
  PGSTALL_COPY_KIND (default load):
      load    TRUNCATE, COPY every row, COMMIT, again: lseek and pwrite64 of
              the growing table between the reads (~20,000 syscalls/s here)
      filter  COPY ... WHERE id % 1000 = 0, again, in one transaction: the
              whole file read and parsed, 0.1 % of it kept, almost nothing
              but reads (~800 a second here: 64 KB each)
The table is UNLOGGED (no WAL: the test cluster's 1 GB disk also holds
seqscan.sh's 400 MB table). Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/copy.sh start)"
  sudo timeout -s INT 2 strace -c -p "\$COPY_PID"
  sudo scripts/scenario/copy.sh stop
EOF
}

write_file() { # MEGABYTES
    local rows=$(($1 * 1024 * 1024 / 100))
    pgs_log "writing $COPY_FILE ($1 MB, $rows rows)"
    # 100 bytes a row: the id padded to 9 digits, a tab, 89 x, a newline.
    awk -v n="$rows" 'BEGIN { pad = sprintf("%89s", ""); gsub(/ /, "x", pad);
        for (i = 1; i <= n; i++) printf "%09d\t%s\n", i, pad }' >"$COPY_FILE"
    chown "$PGSTALL_OS_USER:" "$COPY_FILE"
    chmod 600 "$COPY_FILE"
    # The server opens it as the postgres user: every directory above must let it through.
    pgs_as_pg test -r "$COPY_FILE" || pgs_die "the postgres user cannot read $COPY_FILE (check the modes of its directories)"
}

scenario_start() {
    local t mb kind pid copy_sql
    t="$(pgs_scenario_timeout)"
    mb="${PGSTALL_COPY_MB:-40}"
    if ! pgs_is_uint "$mb" || ((mb == 0)); then
        pgs_die "PGSTALL_COPY_MB must be a positive integer, got '$mb'"
    fi
    kind="${PGSTALL_COPY_KIND:-load}"
    case "$kind" in
    load) copy_sql="EXECUTE 'TRUNCATE $COPY_TABLE';
    EXECUTE format('COPY $COPY_TABLE FROM %L', '$COPY_FILE');
    COMMIT;" ;;
    filter) copy_sql="EXECUTE format('COPY $COPY_TABLE FROM %L WHERE id %% 1000 = 0', '$COPY_FILE');" ;;
    *) pgs_die "PGSTALL_COPY_KIND must be 'load' or 'filter', got '$kind'" ;;
    esac
    # Before the watchdog: writing the file must not eat into the COPY's time.
    write_file "$mb"
    pgs_sql "SET client_min_messages = warning; DROP TABLE IF EXISTS $COPY_TABLE;
             CREATE UNLOGGED TABLE $COPY_TABLE (id int, pad text)" >/dev/null
    pgs_watchdog copy "$t" "$(realpath "$0")"
    pid="$(pgs_session copy copy "$((t + 10))")"
    pgs_send copy copy "DO \$\$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '$t seconds';
  passes int := 0;
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    $copy_sql
    passes := passes + 1;
  END LOOP;
  RAISE NOTICE 'copy done: % passes', passes;
END \$\$;"
    # The COPY itself under way, reading the file (PostgreSQL 14+).
    pgs_wait_until 15 "backend $pid copying from the file" \
        pgs_activity_is "$pid" "state = 'active' AND query LIKE 'DO%' AND
            pid IN (SELECT pid FROM pg_stat_progress_copy WHERE type = 'FILE' AND bytes_processed > 0)"
    pgs_log "backend $pid copying $COPY_FILE into $COPY_TABLE ($kind) for ${t}s"
    pgs_kv COPY_PID "$pid"
    pgs_kv COPY_FILE "$COPY_FILE"
    pgs_kv COPY_BYTES "$(stat -c %s "$COPY_FILE")"
    pgs_kv COPY_KIND "$kind"
}

# The backend holds the table's lock until it is gone: end it first.
scenario_stop_pre() {
    pgs_terminate_backends copy
    if pgs_cluster_running; then
        (pgs_sql "SET lock_timeout = '5s'; DROP TABLE IF EXISTS $COPY_TABLE") >/dev/null 2>&1 ||
            pgs_warn "could not drop $COPY_TABLE"
    fi
    rm -f "$COPY_FILE"
}

pgs_scenario_main "$@"
