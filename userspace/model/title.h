#pragma once

// Process titles of PostgreSQL 13-17 as they appear in /proc/PID/cmdline.
//
// Every postgres child rewrites its argv area into
//   "postgres: [<cluster_name>: ]<fixed part> <activity>[ waiting]"
// (ps_status.c init_ps_display/set_ps_display). The fixed part is the backend
// type ("checkpointer"), a bgworker's bgw_name, or for connections
// "[walsender ]<user> [<database> ]<host>[(<port>)]". The postmaster never
// sets a title, so its cmdline is its real argv.

#include <string>
#include <string_view>

namespace pgstall::model {

enum class BackendType {
    Postmaster,
    Checkpointer,
    BackgroundWriter,
    WalWriter,
    AutovacuumLauncher,
    AutovacuumWorker,
    Startup,
    WalSender,
    WalReceiver,
    Archiver,
    Logger,
    StatsCollector,
    LogicalReplicationLauncher,
    LogicalReplicationWorker,
    ParallelWorker,
    BackgroundWorker,
    ClientBackend,
    Unknown,
};

enum class ClientState { None, Active, Idle, IdleInTransaction, IdleInTransactionAborted, Fastpath };

struct ProcessTitle {
    BackendType type = BackendType::Unknown;
    std::string cluster;  // cluster_name prefix, e.g. Debian's "15/main"; empty if none
    // Client backends and walsenders. client is "[local]" or "host(port)".
    // A physical walsender has no database.
    std::string user, database, client;
    // Client backends and walsenders: the activity exactly as in the title
    // ("UPDATE", "idle in transaction", "streaming 0/3000148"), without " waiting".
    std::string command;
    ClientState state = ClientState::None;
    bool waiting = false;  // title ended with " waiting" (heavyweight lock or recovery conflict wait)
    // Title ended with " waiting for <LSN>": a commit waiting for synchronous
    // replication to confirm that LSN ("0/30A5A110"); "" otherwise.
    std::string waiting_for_lsn;
    // Type-specific rest of the title: startup "recovering 0000...", archiver
    // "last was 0000...", walreceiver/walsender activity, autovacuum worker's
    // database, parallel worker "for PID 4242", bgworker name, logical
    // replication worker "apply worker for subscription 16390". For versions'
    // process types this enum lacks (walsummarizer, slotsync worker, io worker)
    // type is Unknown and detail is the type as titled.
    std::string detail;
    int leader_pid = 0;        // parallel worker: its leader's pid, 0 if unknown
    std::string data_dir_arg;  // postmaster: -D / data_directory from argv, as given (may be relative;
                               // /proc/PID/cwd is authoritative: the postmaster chdir()s to its data dir)
    std::string raw;           // the title (or argv joined) as one line: NULs -> spaces, trimmed
};

// Never throws; anything unrecognised is BackendType::Unknown with raw kept.
// A "postgres: <name>" title that matches no built-in process or connection
// is taken as a background worker (extensions name them freely).
// Caveat: a child forked by the postmaster shows the postmaster's argv until
// it sets its title, so it parses as Postmaster; compare ppid if it matters.
ProcessTitle parse_title(std::string_view cmdline);

// pg_stat_activity.backend_type spelling; "unknown" for Unknown.
std::string_view backend_type_name(BackendType type);

// pg_stat_activity.state spelling ("active", "idle", "idle in transaction",
// "idle in transaction (aborted)", "fastpath function call"); "none" for None.
std::string_view client_state_name(ClientState state);

// True for "postgres: ..." titles and for argv whose argv[0] basename is
// "postgres" or "postmaster".
bool is_postgres_title(std::string_view cmdline);

}  // namespace pgstall::model
