#!/usr/bin/env bash
# A lock queue whose root is stuck sending to its client: a COPY ... TO
# STDOUT whose client stopped reading holds AccessShareLock on a table while
# its backend sleeps in Client:ClientWrite; an ALTER TABLE queues behind it
# for AccessExclusiveLock, and plain readers queue behind the ALTER (the lock
# manager grants in queue order). One stuck session stops every reader of
# the table, and none of the readers conflicts with it directly.
set -euo pipefail

PGS_SELF=clientwrite
PGS_SCENARIO=clientwrite
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# A table of its own: ALTERing `hot` would disturb the other scenarios.
TABLE=pgstall_clientwrite
ROOT_APP=pgstall-clientwrite-root
# The healthy twin's gate (advisory.sh uses 4242).
GATE_KEY=4243

usage() {
    cat <<EOF
Usage: $0 start|stop|--help

start  (Re)create table $TABLE (one row).
       ROOT: psql -c "COPY (SELECT ... FROM $TABLE, generate_series(...)) TO
       STDOUT" piped into a process that never reads: psql stops reading its
       socket, and the backend blocks sending (wait event ClientWrite) while
       holding AccessShareLock on $TABLE.
       ALTER: ALTER TABLE $TABLE ADD COLUMN ...;  (waits for AccessExclusiveLock
       behind ROOT).
       N READERs: SELECT count(*) FROM $TABLE;  (each waits behind ALTER).
       Returns once pg_stat_activity shows ROOT in ClientWrite and ALTER and
       every reader in wait_event_type=Lock, wait_event=relation.
       Prints ROOT_PID=, ALTER_PID=, READER_PIDS= (comma-separated backend
       pids) and TABLE_OID=.
       With PGSTALL_CLIENTWRITE_HEALTHY=1, the negative twin: ROOT's client
       reads everything; its COPY polls (pg_sleep 10 ms) until a GATE session
       releases advisory lock $GATE_KEY, which happens as soon as ALTER and
       the readers are seen queued, so the same queue forms and drains by
       itself. Returns once it drained (ROOT done, ALTER and readers idle);
       prints the same keys and ALTER_WAITED_S= (how long the ALTER took,
       from pg_stat_activity).
stop   Terminate ROOT (what the on-call would do: ALTER and the readers then
       complete), end every session, drop $TABLE.

Environment:
  PGSTALL_CLIENTWRITE_READERS (default 2)   number of readers
  PGSTALL_CLIENTWRITE_HEALTHY (default 0)   1: the healthy short queue
  PGSTALL_SCENARIO_TIMEOUT    (default 120) safety timeout: undone after that
                              long even if 'stop' is never called
Needs scripts/pgcluster.sh up.

Example:
  eval "\$(sudo scripts/scenario/clientwrite.sh start)"
  sudo scripts/pgcluster.sh psql -c "SELECT pid, wait_event_type, wait_event, pg_blocking_pids(pid) FROM pg_stat_activity WHERE pid IN (\$ROOT_PID, \$ALTER_PID, \$READER_PIDS)"
  sudo scripts/scenario/clientwrite.sh stop
EOF
}

# Starts ROOT's psql in the background with its stdout into `sink` (a
# command run by bash: `exec sleep N` never reads, `exec cat >/dev/null`
# reads everything), records it, waits for its backend and prints its pid.
start_root() { # KEEP_SECONDS SQL SINK
    local keep=$1 sql=$2 sink=$3 root PGS_AS_PG
    pgs_as_pg_prefix
    # shellcheck disable=SC2016 # expanded by the inner bash
    pgs_spawn clientwrite "$PGSTALL_SCENARIO_DIR/clientwrite.root.log" \
        bash -c '"${@:2}" | eval "$1"' root "$sink" \
        "${PGS_AS_PG[@]}" PGAPPNAME="$ROOT_APP" PGOPTIONS="-c statement_timeout=$((keep + 5))s" \
        "$(pgs_psql_bin)" -X -q -At -c "$sql" >/dev/null
    pgs_wait_until 15 "ROOT's backend ($ROOT_APP)" \
        test -n "$(pgs_sql_value "SELECT pid FROM pg_stat_activity WHERE application_name = '$ROOT_APP'")" || return 1
    root="$(pgs_sql_value "SELECT pid FROM pg_stat_activity WHERE application_name = '$ROOT_APP'")"
    pgs_is_uint "$root" || return 1
    pgs_record_backend clientwrite "$root"
    echo "$root" >"$PGSTALL_SCENARIO_DIR/clientwrite.root.pid"
    echo "$root"
}

waiting_on_the_table() { echo "wait_event_type = 'Lock' AND wait_event = 'relation'"; }

# How many of the comma-separated pids satisfy a pg_stat_activity condition.
count_where() { # PIDS SQL_CONDITION
    pgs_sql_value "SELECT count(*) FROM pg_stat_activity WHERE pid IN ($1) AND ($2)"
}

scenario_start() {
    local t n i root alter table_oid readers=() gate healthy queue
    t="$(pgs_scenario_timeout)"
    n="${PGSTALL_CLIENTWRITE_READERS:-2}"
    healthy="${PGSTALL_CLIENTWRITE_HEALTHY:-0}"
    if ! pgs_is_uint "$n" || ((n == 0 || n > 20)); then
        pgs_die "PGSTALL_CLIENTWRITE_READERS must be an integer from 1 to 20, got '$n'"
    fi
    pgs_watchdog clientwrite "$t" "$(realpath "$0")"

    pgs_sql "SET client_min_messages = warning; DROP TABLE IF EXISTS $TABLE; CREATE TABLE $TABLE(id int);
             INSERT INTO $TABLE VALUES (1)" >/dev/null
    table_oid="$(pgs_sql_value "SELECT '$TABLE'::regclass::oid")"
    pgs_is_uint "$table_oid" || pgs_die "could not look up the oid of $TABLE"

    # The waiting sessions first: once ROOT runs, ALTER and the readers are
    # one write to a FIFO away.
    alter="$(pgs_session clientwrite alter "$((t + 10))")"
    for ((i = 1; i <= n; i++)); do
        readers+=("$(pgs_session clientwrite "reader$i" "$((t + 10))")")
    done
    queue="$(IFS=,; echo "$alter,${readers[*]}")"

    if [[ "$healthy" == 1 ]]; then
        # ROOT's COPY streams to a client that reads, polling every 10 ms
        # until GATE lets it finish: the queue lasts as long as it takes to
        # see it formed, however slow the machine, and not longer.
        gate="$(pgs_session clientwrite gate "$((t + 10))")"
        pgs_send clientwrite gate "SELECT pg_advisory_lock($GATE_KEY);"
        pgs_wait_until 15 "GATE $gate holding advisory lock $GATE_KEY" \
            pgs_activity_is "$gate" "state = 'idle' AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = $gate
                AND l.locktype = 'advisory' AND l.objid = $GATE_KEY AND l.granted)"
        root="$(start_root "$t" "COPY (SELECT c.id, s.g FROM $TABLE c, (SELECT g FROM generate_series(1, 100 * $t) g
                WHERE pg_sleep(0.01) IS NOT NULL AND pg_try_advisory_lock_shared($GATE_KEY) LIMIT 1) s) TO STDOUT" \
            'exec cat >/dev/null')"
        pgs_wait_until 15 "ROOT $root holding AccessShareLock on $TABLE" \
            test "$(pgs_sql_value "SELECT count(*) FROM pg_locks WHERE pid = $root AND relation = $table_oid AND granted")" = 1
    else
        # 1 kB rows, up to 2 GB: far more than the pipe and socket buffers.
        root="$(start_root "$t" "COPY (SELECT c.id, repeat('x', 1000) FROM $TABLE c, generate_series(1, 2000000) g) TO STDOUT" \
            "exec sleep $((t + 10))")"
        pgs_wait_until 15 "ROOT $root blocked sending to its client" \
            pgs_activity_is "$root" "state = 'active' AND wait_event_type = 'Client' AND wait_event = 'ClientWrite'"
    fi

    # In queue order: the readers once the ALTER is seen waiting.
    pgs_send clientwrite alter "ALTER TABLE $TABLE ADD COLUMN extra int;"
    pgs_wait_until 15 "ALTER $alter waiting for $TABLE" pgs_activity_is "$alter" "$(waiting_on_the_table)"
    for ((i = 1; i <= n; i++)); do
        pgs_send clientwrite "reader$i" "SELECT count(*) FROM $TABLE;"
    done
    pgs_wait_until 15 "ALTER and $n reader(s) waiting for $TABLE" \
        test "$(count_where "$queue" "$(waiting_on_the_table)")" = "$((n + 1))"

    if [[ "$healthy" == 1 ]]; then
        pgs_send clientwrite gate "SELECT pg_advisory_unlock($GATE_KEY);"
        pgs_wait_until 15 "ROOT $root to finish its COPY" pgs_activity_not "$root" "state = 'active'"
        pgs_wait_until 15 "ALTER and the readers to get their locks" \
            test "$(count_where "$queue" "wait_event_type = 'Lock' OR state <> 'idle'")" = 0
        pgs_kv ALTER_WAITED_S "$(pgs_sql_value "SELECT round(extract(epoch FROM state_change - query_start), 1)
            FROM pg_stat_activity WHERE pid = $alter")"
        pgs_log "a queue of $((n + 1)) formed behind ROOT $root and drained"
    else
        # Still stuck, not merely slow: ROOT has not moved on.
        pgs_activity_is "$root" "wait_event = 'ClientWrite'" || pgs_die "ROOT $root left ClientWrite"
        pgs_log "ALTER $alter and $n reader(s) queued behind ROOT $root, which is stuck sending (safety timeout ${t}s)"
    fi
    pgs_kv ROOT_PID "$root"
    pgs_kv ALTER_PID "$alter"
    pgs_kv READER_PIDS "$(IFS=,; echo "${readers[*]}")"
    pgs_kv TABLE_OID "$table_oid"
}

# End the root, as the on-call would: the queue then drains by itself. The
# table can be dropped only once no session holds a lock on it.
scenario_stop_pre() {
    local root f w
    root="$(cat "$PGSTALL_SCENARIO_DIR/clientwrite.root.pid" 2>/dev/null || true)"
    if pgs_is_uint "$root" && pgs_cluster_running; then
        (pgs_sql "SELECT pg_terminate_backend($root)") >/dev/null 2>&1 || true
        for f in "$PGSTALL_SCENARIO_DIR"/clientwrite.alter.pid "$PGSTALL_SCENARIO_DIR"/clientwrite.reader*.pid; do
            [[ -e "$f" ]] || continue
            w="$(cat "$f" 2>/dev/null || true)"
            pgs_is_uint "$w" || continue
            pgs_wait_until 10 "$w to get its lock" pgs_activity_not "$w" "wait_event_type = 'Lock'" || true
        done
    fi
    pgs_scenario_cleanup clientwrite
    if pgs_cluster_running; then
        (pgs_sql "SET lock_timeout = '5s'; DROP TABLE IF EXISTS $TABLE") >/dev/null 2>&1 ||
            pgs_warn "could not drop $TABLE"
    fi
}

pgs_scenario_main "$@"
