#include "model/title.h"

#include <dirent.h>

#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>

namespace pgstall::model {
namespace {

using namespace std::string_literals;

// A title as /proc/PID/cmdline shows it: the string, the trailing space
// init_ps_display() leaves when there is no activity, then NUL padding up to
// the size of the postmaster's argv area.
std::string padded(std::string_view title, size_t pad = 64) {
    std::string s(title);
    s.append(pad, '\0');
    return s;
}

// An argv as /proc/PID/cmdline shows it: each argument NUL-terminated.
std::string argv_of(std::initializer_list<std::string_view> args) {
    std::string s;
    for (auto a : args) {
        s.append(a);
        s.push_back('\0');
    }
    return s;
}

// --- Titles captured from a live Debian PG 15 cluster (cluster_name 15/main) ---

TEST(TitleLive, AuxiliaryProcessesWithClusterPrefix) {
    struct Case {
        const char* title;
        BackendType type;
    } cases[] = {
        {"postgres: 15/main: checkpointer ", BackendType::Checkpointer},
        {"postgres: 15/main: background writer ", BackendType::BackgroundWriter},
        {"postgres: 15/main: walwriter ", BackendType::WalWriter},
        {"postgres: 15/main: autovacuum launcher ", BackendType::AutovacuumLauncher},
        {"postgres: 15/main: logical replication launcher ", BackendType::LogicalReplicationLauncher},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.title);
        const auto t = parse_title(padded(c.title));
        EXPECT_EQ(t.type, c.type);
        EXPECT_EQ(t.cluster, "15/main");
        EXPECT_EQ(t.detail, "");
        EXPECT_EQ(t.command, "");
        EXPECT_EQ(t.state, ClientState::None);
        EXPECT_FALSE(t.waiting);
        // raw is the title without the trailing space and padding
        EXPECT_EQ(t.raw, std::string(c.title).substr(0, std::string(c.title).size() - 1));
    }
}

TEST(TitleLive, IdleInTransactionLocal) {
    const auto t = parse_title(padded("postgres: 15/main: postgres shop [local] idle in transaction"));
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.cluster, "15/main");
    EXPECT_EQ(t.user, "postgres");
    EXPECT_EQ(t.database, "shop");
    EXPECT_EQ(t.client, "[local]");
    EXPECT_EQ(t.command, "idle in transaction");
    EXPECT_EQ(t.state, ClientState::IdleInTransaction);
    EXPECT_FALSE(t.waiting);
    EXPECT_EQ(t.raw, "postgres: 15/main: postgres shop [local] idle in transaction");
}

TEST(TitleLive, LockWaiter) {
    const auto t = parse_title(padded("postgres: 15/main: postgres shop [local] UPDATE waiting"));
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.command, "UPDATE");
    EXPECT_EQ(t.state, ClientState::Active);
    EXPECT_TRUE(t.waiting);
    EXPECT_EQ(t.raw, "postgres: 15/main: postgres shop [local] UPDATE waiting");
}

TEST(TitleLive, AbortedTransactionOverTcp) {
    const auto t = parse_title(padded("postgres: 15/main: postgres shop 127.0.0.1(50806) idle in transaction (aborted)"));
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.user, "postgres");
    EXPECT_EQ(t.database, "shop");
    EXPECT_EQ(t.client, "127.0.0.1(50806)");
    EXPECT_EQ(t.command, "idle in transaction (aborted)");
    EXPECT_EQ(t.state, ClientState::IdleInTransactionAborted);
}

TEST(TitleLive, PhysicalWalsenderStreaming) {
    const auto t = parse_title(padded("postgres: 15/main: walsender postgres 127.0.0.1(51036) streaming 0/2000000"));
    EXPECT_EQ(t.type, BackendType::WalSender);
    EXPECT_EQ(t.cluster, "15/main");
    EXPECT_EQ(t.user, "postgres");
    EXPECT_EQ(t.database, "");
    EXPECT_EQ(t.client, "127.0.0.1(51036)");
    EXPECT_EQ(t.command, "streaming 0/2000000");
    EXPECT_EQ(t.detail, "streaming 0/2000000");
    EXPECT_EQ(t.state, ClientState::Active);
}

TEST(TitleLive, DebianPostmasterArgv) {
    const auto cmd = argv_of({"/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main", "-c",
                              "config_file=/etc/postgresql/15/main/postgresql.conf"});
    const auto t = parse_title(cmd);
    EXPECT_EQ(t.type, BackendType::Postmaster);
    EXPECT_EQ(t.data_dir_arg, "/var/lib/postgresql/15/main");
    EXPECT_EQ(t.raw,
              "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main -c "
              "config_file=/etc/postgresql/15/main/postgresql.conf");
    EXPECT_EQ(t.cluster, "");
    EXPECT_TRUE(is_postgres_title(cmd));
}

// --- Without cluster_name ---

TEST(TitleAux, AllBuiltinTypesWithoutCluster) {
    struct Case {
        const char* title;
        BackendType type;
        const char* detail;
    } cases[] = {
        {"postgres: checkpointer ", BackendType::Checkpointer, ""},
        {"postgres: background writer ", BackendType::BackgroundWriter, ""},
        {"postgres: walwriter ", BackendType::WalWriter, ""},
        {"postgres: autovacuum launcher ", BackendType::AutovacuumLauncher, ""},
        {"postgres: logger ", BackendType::Logger, ""},
        {"postgres: stats collector ", BackendType::StatsCollector, ""},
        {"postgres: logical replication launcher ", BackendType::LogicalReplicationLauncher, ""},
        {"postgres: archiver last was 000000010000000000000002", BackendType::Archiver,
         "last was 000000010000000000000002"},
        {"postgres: archiver failed on 000000010000000000000003", BackendType::Archiver,
         "failed on 000000010000000000000003"},
        {"postgres: walreceiver streaming 0/3000148", BackendType::WalReceiver, "streaming 0/3000148"},
        {"postgres: startup recovering 00000001000000A2000000F3", BackendType::Startup,
         "recovering 00000001000000A2000000F3"},
        {"postgres: startup waiting for 0000000100000000000000A1", BackendType::Startup,
         "waiting for 0000000100000000000000A1"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.title);
        const auto t = parse_title(padded(c.title));
        EXPECT_EQ(t.type, c.type);
        EXPECT_EQ(t.cluster, "");
        EXPECT_EQ(t.detail, c.detail);
        EXPECT_EQ(t.user, "");
        EXPECT_EQ(t.state, ClientState::None);
        EXPECT_FALSE(t.waiting);
    }
}

TEST(TitleAux, StartupWaitingSuffixOnRecoveryConflict) {
    // standby.c appends " waiting" while the startup process waits out a conflict.
    const auto t = parse_title("postgres: 16/replica: startup recovering 00000001000000A2000000F3 waiting");
    EXPECT_EQ(t.type, BackendType::Startup);
    EXPECT_EQ(t.cluster, "16/replica");
    EXPECT_EQ(t.detail, "recovering 00000001000000A2000000F3");
    EXPECT_TRUE(t.waiting);
}

TEST(TitleAux, StartupWaitingForIsNotTheWaitingSuffix) {
    const auto t = parse_title("postgres: startup waiting for 0000000100000000000000A1");
    EXPECT_FALSE(t.waiting);
}

TEST(TitleAux, AutovacuumWorkerNamesItsDatabase) {
    const auto t = parse_title(padded("postgres: autovacuum worker shop"));
    EXPECT_EQ(t.type, BackendType::AutovacuumWorker);
    EXPECT_EQ(t.detail, "shop");
    EXPECT_EQ(t.database, "shop");

    const auto before_connect = parse_title(padded("postgres: 15/main: autovacuum worker "));
    EXPECT_EQ(before_connect.type, BackendType::AutovacuumWorker);
    EXPECT_EQ(before_connect.cluster, "15/main");
    EXPECT_EQ(before_connect.database, "");

    const auto waiting = parse_title("postgres: autovacuum worker shop waiting");
    EXPECT_EQ(waiting.database, "shop");
    EXPECT_TRUE(waiting.waiting);
}

TEST(TitleAux, ParallelWorkerLeaderPid) {
    const auto t = parse_title(padded("postgres: parallel worker for PID 4242 "));
    EXPECT_EQ(t.type, BackendType::ParallelWorker);
    EXPECT_EQ(t.detail, "for PID 4242");
    EXPECT_EQ(t.leader_pid, 4242);

    const auto c = parse_title("postgres: 17/main: parallel worker for PID 77");
    EXPECT_EQ(c.type, BackendType::ParallelWorker);
    EXPECT_EQ(c.cluster, "17/main");
    EXPECT_EQ(c.leader_pid, 77);

    EXPECT_EQ(parse_title("postgres: parallel worker for PID x").leader_pid, 0);
    EXPECT_EQ(parse_title("postgres: parallel worker for PID 99999999999999").leader_pid, 0);
}

TEST(TitleAux, LogicalReplicationWorkersAcrossVersions) {
    struct Case {
        const char* title;
        const char* detail;
    } cases[] = {
        {"postgres: logical replication worker for subscription 16390", "worker for subscription 16390"},  // <= 15
        {"postgres: logical replication apply worker for subscription 16390",
         "apply worker for subscription 16390"},
        {"postgres: logical replication tablesync worker for subscription 16390 sync 16385",
         "tablesync worker for subscription 16390 sync 16385"},
        {"postgres: 16/main: logical replication parallel apply worker for subscription 16390",
         "parallel apply worker for subscription 16390"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.title);
        const auto t = parse_title(padded(c.title));
        EXPECT_EQ(t.type, BackendType::LogicalReplicationWorker);
        EXPECT_EQ(t.detail, c.detail);
    }
}

TEST(TitleAux, NewerProcessTypesAreUnknownButNamed) {
    auto t = parse_title(padded("postgres: 17/main: walsummarizer "));
    EXPECT_EQ(t.type, BackendType::Unknown);
    EXPECT_EQ(t.cluster, "17/main");
    EXPECT_EQ(t.detail, "walsummarizer");

    t = parse_title("postgres: slotsync worker");
    EXPECT_EQ(t.type, BackendType::Unknown);
    EXPECT_EQ(t.detail, "slotsync worker");

    t = parse_title("postgres: io worker 2");
    EXPECT_EQ(t.type, BackendType::Unknown);
    EXPECT_EQ(t.detail, "io worker 2");
}

// --- Background workers ---

TEST(TitleBgworker, ExtensionWorkerByName) {
    const auto t = parse_title(padded("postgres: TimescaleDB Background Worker Launcher "));
    EXPECT_EQ(t.type, BackendType::BackgroundWorker);
    EXPECT_EQ(t.detail, "TimescaleDB Background Worker Launcher");
    EXPECT_EQ(t.cluster, "");
}

TEST(TitleBgworker, ExtensionWorkerWithCluster) {
    const auto t = parse_title("postgres: 15/main: TimescaleDB Background Worker Launcher");
    EXPECT_EQ(t.type, BackendType::BackgroundWorker);
    EXPECT_EQ(t.cluster, "15/main");
    EXPECT_EQ(t.detail, "TimescaleDB Background Worker Launcher");
}

TEST(TitleBgworker, ColonInsideWorkerNameIsNotACluster) {
    // The part before ": " has spaces, so it is read as part of the name.
    const auto t = parse_title("postgres: Citus Maintenance Daemon: 16384/10");
    EXPECT_EQ(t.type, BackendType::BackgroundWorker);
    EXPECT_EQ(t.cluster, "");
    EXPECT_EQ(t.detail, "Citus Maintenance Daemon: 16384/10");

    const auto c = parse_title("postgres: 15/main: Citus Maintenance Daemon: 16384/10");
    EXPECT_EQ(c.type, BackendType::BackgroundWorker);
    EXPECT_EQ(c.cluster, "15/main");
    EXPECT_EQ(c.detail, "Citus Maintenance Daemon: 16384/10");
}

TEST(TitleBgworker, LegacyBgworkerPrefix) {
    const auto t = parse_title("postgres: bgworker: pglogical supervisor");
    EXPECT_EQ(t.type, BackendType::BackgroundWorker);
    EXPECT_EQ(t.cluster, "");
    EXPECT_EQ(t.detail, "pglogical supervisor");
}

// --- Client backends and walsenders ---

TEST(TitleClient, CommonStatesAndCommands) {
    struct Case {
        const char* activity;
        ClientState state;
    } cases[] = {
        {"idle", ClientState::Idle},
        {"idle in transaction", ClientState::IdleInTransaction},
        {"idle in transaction (aborted)", ClientState::IdleInTransactionAborted},
        {"<FASTPATH>", ClientState::Fastpath},
        {"SELECT", ClientState::Active},
        {"COMMIT", ClientState::Active},
        {"BIND", ClientState::Active},
        {"PARSE", ClientState::Active},
        {"CREATE INDEX", ClientState::Active},
        {"REFRESH MATERIALIZED VIEW", ClientState::Active},
        {"initializing", ClientState::None},
        {"authentication", ClientState::None},
        {"startup", ClientState::None},
    };
    for (const auto& c : cases) {
        const std::string title = "postgres: app shop 10.1.2.3(40212) "s + c.activity;
        SCOPED_TRACE(title);
        const auto t = parse_title(padded(title));
        EXPECT_EQ(t.type, BackendType::ClientBackend);
        EXPECT_EQ(t.user, "app");
        EXPECT_EQ(t.database, "shop");
        EXPECT_EQ(t.client, "10.1.2.3(40212)");
        EXPECT_EQ(t.command, c.activity);
        EXPECT_EQ(t.state, c.state);
        EXPECT_EQ(t.detail, "");
        EXPECT_FALSE(t.waiting);
    }
}

TEST(TitleClient, BriefExamples) {
    auto t = parse_title("postgres: app shop [local] UPDATE waiting");
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.user, "app");
    EXPECT_EQ(t.database, "shop");
    EXPECT_EQ(t.client, "[local]");
    EXPECT_EQ(t.command, "UPDATE");
    EXPECT_TRUE(t.waiting);

    t = parse_title("postgres: postgres pgstall 127.0.0.1(40212) idle in transaction");
    EXPECT_EQ(t.user, "postgres");
    EXPECT_EQ(t.database, "pgstall");
    EXPECT_EQ(t.client, "127.0.0.1(40212)");
    EXPECT_EQ(t.state, ClientState::IdleInTransaction);
}

TEST(TitleClient, Ipv6AndHostnameClients) {
    auto t = parse_title("postgres: app shop ::1(5432) idle");
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.client, "::1(5432)");
    EXPECT_EQ(t.state, ClientState::Idle);

    t = parse_title("postgres: app shop fe80::1%eth0(40000) SELECT");
    EXPECT_EQ(t.client, "fe80::1%eth0(40000)");
    EXPECT_EQ(t.command, "SELECT");

    // log_hostname = on
    t = parse_title("postgres: app shop app1.example.com(40000) INSERT waiting");
    EXPECT_EQ(t.client, "app1.example.com(40000)");
    EXPECT_EQ(t.command, "INSERT");
    EXPECT_TRUE(t.waiting);
}

TEST(TitleClient, UpdateProcessTitleOffLeavesOnlyTheFixedPart) {
    const auto t = parse_title(padded("postgres: app shop [local] "));
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.user, "app");
    EXPECT_EQ(t.database, "shop");
    EXPECT_EQ(t.command, "");
    EXPECT_EQ(t.state, ClientState::None);
}

TEST(TitleClient, UserNamedLikeABackendTypeIsStillAClient) {
    const auto t = parse_title("postgres: startup shop [local] idle");
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.user, "startup");
    EXPECT_EQ(t.database, "shop");
}

TEST(TitleClient, NamesWithSpacesDoNotCrash) {
    // Ambiguous by construction: first word is taken as the user.
    const auto t = parse_title("postgres: my user my shop [local] SELECT");
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.user, "my");
    EXPECT_EQ(t.database, "user my shop");
    EXPECT_EQ(t.client, "[local]");
    EXPECT_EQ(t.command, "SELECT");
}

TEST(TitleClient, ClusterNameWithSpaces) {
    const auto t = parse_title("postgres: prod db 1: app shop [local] idle");
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.cluster, "prod db 1");
    EXPECT_EQ(t.user, "app");
    EXPECT_EQ(t.database, "shop");

    const auto aux = parse_title("postgres: prod db 1: checkpointer");
    EXPECT_EQ(aux.type, BackendType::Checkpointer);
    EXPECT_EQ(aux.cluster, "prod db 1");
}

TEST(TitleWalsender, LogicalWalsenderHasDatabase) {
    const auto t = parse_title("postgres: walsender repl shop 10.0.0.1(5000) START_REPLICATION");
    EXPECT_EQ(t.type, BackendType::WalSender);
    EXPECT_EQ(t.user, "repl");
    EXPECT_EQ(t.database, "shop");
    EXPECT_EQ(t.command, "START_REPLICATION");
    EXPECT_EQ(t.detail, "START_REPLICATION");
}

TEST(TitleWalsender, BriefExampleAndIdle) {
    auto t = parse_title("postgres: walsender repl 10.0.0.1(5000) streaming 0/3000148");
    EXPECT_EQ(t.type, BackendType::WalSender);
    EXPECT_EQ(t.user, "repl");
    EXPECT_EQ(t.database, "");
    EXPECT_EQ(t.client, "10.0.0.1(5000)");
    EXPECT_EQ(t.detail, "streaming 0/3000148");

    t = parse_title("postgres: walsender repl [local] idle");
    EXPECT_EQ(t.type, BackendType::WalSender);
    EXPECT_EQ(t.state, ClientState::Idle);
}

TEST(TitleWalsender, UserNamedWalsenderAloneIsNotEnough) {
    // A walsender always shows a user after "walsender"; with only the address
    // following, "walsender" must be the user of an ordinary connection.
    const auto t = parse_title("postgres: walsender [local] idle");
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.user, "walsender");
    EXPECT_EQ(t.database, "");
}

// --- Postmaster and other argv ---

TEST(TitlePostmaster, ArgvVariants) {
    auto t = parse_title(argv_of({"/usr/pgsql-16/bin/postmaster", "-D", "/var/lib/pgsql/16/data/"}));
    EXPECT_EQ(t.type, BackendType::Postmaster);
    EXPECT_EQ(t.data_dir_arg, "/var/lib/pgsql/16/data/");

    t = parse_title(argv_of({"postgres", "-D/srv/pg"}));
    EXPECT_EQ(t.type, BackendType::Postmaster);
    EXPECT_EQ(t.data_dir_arg, "/srv/pg");

    t = parse_title(argv_of({"postgres", "-c", "data_directory=/srv/a", "-p", "5433"}));
    EXPECT_EQ(t.data_dir_arg, "/srv/a");

    t = parse_title(argv_of({"postgres", "--data-directory=/srv/b"}));
    EXPECT_EQ(t.data_dir_arg, "/srv/b");

    t = parse_title(argv_of({"/usr/local/pgsql/bin/postgres"}));
    EXPECT_EQ(t.type, BackendType::Postmaster);
    EXPECT_EQ(t.data_dir_arg, "");  // PGDATA from the environment
    EXPECT_EQ(t.raw, "/usr/local/pgsql/bin/postgres");
}

TEST(TitlePostmaster, SpaceSeparatedStringWithoutNuls) {
    const auto t = parse_title("/usr/lib/postgresql/15/bin/postgres -D /data");
    EXPECT_EQ(t.type, BackendType::Postmaster);
    EXPECT_EQ(t.data_dir_arg, "/data");
}

TEST(TitlePostmaster, SingleUserAndBootstrapAreNotPostmasters) {
    auto t = parse_title(argv_of({"/usr/lib/postgresql/15/bin/postgres", "--single", "-D", "/data", "shop"}));
    EXPECT_EQ(t.type, BackendType::Unknown);
    EXPECT_EQ(t.detail, "standalone backend");

    t = parse_title(argv_of({"postgres", "--boot", "-X", "1048576"}));
    EXPECT_EQ(t.type, BackendType::Unknown);
    EXPECT_EQ(t.detail, "bootstrap");
}

TEST(TitlePostmaster, OtherProgramsAreUnknown) {
    for (const std::string& cmd : {argv_of({"/usr/bin/psql", "-d", "shop"}), argv_of({"postgresql-wrapper"}),
                                   argv_of({"/usr/bin/postgres_exporter"}), argv_of({"/bin/bash", "postgres"})}) {
        const auto t = parse_title(cmd);
        EXPECT_EQ(t.type, BackendType::Unknown) << t.raw;
        EXPECT_FALSE(is_postgres_title(cmd)) << t.raw;
    }
}

// --- Odd input ---

TEST(TitleOdd, EmptyAndPrefixOnly) {
    for (const std::string& s : {""s, "postgres:"s, "postgres: "s, "postgres: \0\0\0"s, "\0\0"s, "   "s}) {
        const auto t = parse_title(s);
        EXPECT_EQ(t.type, BackendType::Unknown);
        EXPECT_EQ(t.cluster, "");
        EXPECT_EQ(t.detail, "");
        EXPECT_FALSE(t.waiting);
    }
    EXPECT_EQ(parse_title("").raw, "");
    EXPECT_EQ(parse_title("postgres: \0\0\0"s).raw, "postgres:");
}

TEST(TitleOdd, ClusterPrefixAlone) {
    const auto t = parse_title(padded("postgres: 15/main: "));
    EXPECT_EQ(t.type, BackendType::Unknown);
    EXPECT_EQ(t.cluster, "15/main");
}

TEST(TitleOdd, OnlyTheFirstCStringOfATitleCounts) {
    // Bytes after the title's NUL are padding or stale; never part of the title.
    const auto t = parse_title("postgres: checkpointer \0stale junk\0"s);
    EXPECT_EQ(t.type, BackendType::Checkpointer);
    EXPECT_EQ(t.detail, "");
    EXPECT_EQ(t.raw, "postgres: checkpointer");
}

TEST(TitleOdd, ControlCharactersBecomeSpaces) {
    const auto t = parse_title("postgres: app shop [local] SELECT\n\t");
    EXPECT_EQ(t.command, "SELECT");
    EXPECT_EQ(t.raw.find('\n'), std::string::npos);
}

TEST(TitleOdd, WaitingAloneIsNotStripped) {
    const auto t = parse_title("postgres: waiting");
    EXPECT_FALSE(t.waiting);
    EXPECT_EQ(t.type, BackendType::BackgroundWorker);
    EXPECT_EQ(t.detail, "waiting");
}

TEST(TitleOdd, NotAnAddressWithoutHostOrDigits) {
    // "(123)" without a host, "x(12a)": no connection anchor, so a worker name.
    EXPECT_EQ(parse_title("postgres: my worker (123)").type, BackendType::BackgroundWorker);
    EXPECT_EQ(parse_title("postgres: a b x(12a) idle").type, BackendType::BackgroundWorker);
    EXPECT_EQ(parse_title("postgres: [local] idle").type, BackendType::BackgroundWorker);
}

TEST(TitleOdd, EveryPrefixOfRealTitlesParsesWithoutCrashing) {
    // Titles are truncated at the end of the argv area; any cut must be safe.
    const std::string titles[] = {
        padded("postgres: 15/main: walsender postgres 127.0.0.1(51036) streaming 0/2000000"),
        padded("postgres: 15/main: postgres shop 127.0.0.1(50806) idle in transaction (aborted)"),
        argv_of({"/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main"}),
        "postgres: Citus Maintenance Daemon: 16384/10 waiting",
    };
    for (const auto& full : titles) {
        for (size_t n = 0; n <= full.size(); ++n) {
            const auto t = parse_title(std::string_view(full).substr(0, n));
            EXPECT_EQ(t.raw.find('\0'), std::string::npos);
            EXPECT_LE(t.raw.size(), n);
        }
    }
}

TEST(TitleOdd, BinaryGarbage) {
    std::string junk;
    for (int i = 0; i < 512; ++i) junk.push_back(static_cast<char>((i * 131 + 7) & 0xff));
    const auto t = parse_title(junk);
    EXPECT_EQ(t.type, BackendType::Unknown);
    const auto u = parse_title("postgres: " + junk);
    EXPECT_EQ(u.raw.find('\0'), std::string::npos);
}

// --- Names ---

TEST(TitleNames, BackendTypeNamesMatchPgStatActivity) {
    EXPECT_EQ(backend_type_name(BackendType::Postmaster), "postmaster");
    EXPECT_EQ(backend_type_name(BackendType::Checkpointer), "checkpointer");
    EXPECT_EQ(backend_type_name(BackendType::BackgroundWriter), "background writer");
    EXPECT_EQ(backend_type_name(BackendType::WalWriter), "walwriter");
    EXPECT_EQ(backend_type_name(BackendType::AutovacuumLauncher), "autovacuum launcher");
    EXPECT_EQ(backend_type_name(BackendType::AutovacuumWorker), "autovacuum worker");
    EXPECT_EQ(backend_type_name(BackendType::Startup), "startup");
    EXPECT_EQ(backend_type_name(BackendType::WalSender), "walsender");
    EXPECT_EQ(backend_type_name(BackendType::WalReceiver), "walreceiver");
    EXPECT_EQ(backend_type_name(BackendType::Archiver), "archiver");
    EXPECT_EQ(backend_type_name(BackendType::Logger), "logger");
    EXPECT_EQ(backend_type_name(BackendType::StatsCollector), "stats collector");
    EXPECT_EQ(backend_type_name(BackendType::LogicalReplicationLauncher), "logical replication launcher");
    EXPECT_EQ(backend_type_name(BackendType::LogicalReplicationWorker), "logical replication worker");
    EXPECT_EQ(backend_type_name(BackendType::ParallelWorker), "parallel worker");
    EXPECT_EQ(backend_type_name(BackendType::BackgroundWorker), "background worker");
    EXPECT_EQ(backend_type_name(BackendType::ClientBackend), "client backend");
    EXPECT_EQ(backend_type_name(BackendType::Unknown), "unknown");
}

TEST(TitleNames, NamesRoundTripThroughTheParser) {
    // Every auxiliary type's name, used as a title, parses back to that type.
    for (auto type : {BackendType::Checkpointer, BackendType::BackgroundWriter, BackendType::WalWriter,
                      BackendType::AutovacuumLauncher, BackendType::AutovacuumWorker, BackendType::Startup,
                      BackendType::WalReceiver, BackendType::Archiver, BackendType::Logger,
                      BackendType::StatsCollector, BackendType::LogicalReplicationLauncher,
                      BackendType::LogicalReplicationWorker, BackendType::ParallelWorker}) {
        const std::string title = "postgres: " + std::string(backend_type_name(type));
        EXPECT_EQ(parse_title(title).type, type) << title;
    }
}

TEST(TitleNames, ClientStateNames) {
    EXPECT_EQ(client_state_name(ClientState::None), "none");
    EXPECT_EQ(client_state_name(ClientState::Active), "active");
    EXPECT_EQ(client_state_name(ClientState::Idle), "idle");
    EXPECT_EQ(client_state_name(ClientState::IdleInTransaction), "idle in transaction");
    EXPECT_EQ(client_state_name(ClientState::IdleInTransactionAborted), "idle in transaction (aborted)");
    EXPECT_EQ(client_state_name(ClientState::Fastpath), "fastpath function call");
}

TEST(TitleIsPostgres, Detection) {
    EXPECT_TRUE(is_postgres_title(padded("postgres: 15/main: checkpointer ")));
    EXPECT_TRUE(is_postgres_title("postgres: TimescaleDB Background Worker Launcher"));
    EXPECT_TRUE(is_postgres_title(argv_of({"/usr/lib/postgresql/15/bin/postgres", "-D", "/x"})));
    EXPECT_TRUE(is_postgres_title(argv_of({"postmaster"})));
    EXPECT_TRUE(is_postgres_title(argv_of({"/usr/pgsql-16/bin/postmaster", "-D", "/x"})));
    EXPECT_FALSE(is_postgres_title(""));
    EXPECT_FALSE(is_postgres_title("postgres:x"));
    EXPECT_FALSE(is_postgres_title(argv_of({"/usr/bin/psql"})));
    EXPECT_FALSE(is_postgres_title(argv_of({"/usr/lib/postgresql/15/bin/postgres.bak"})));
    EXPECT_FALSE(is_postgres_title(argv_of({"sshd: postgres: [priv]"})));
}

// Whatever runs on this machine, parsing it must be safe; a postgres title
// that is a connection must come with a user.
TEST(TitleLiveProc, EveryProcessOnThisHostParses) {
    DIR* d = opendir("/proc");
    ASSERT_NE(d, nullptr);
    int seen = 0;
    while (const dirent* e = readdir(d)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        std::ifstream f(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
        if (!f) continue;
        const std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        const auto t = parse_title(cmd);
        ++seen;
        if (t.type == BackendType::ClientBackend || t.type == BackendType::WalSender) {
            EXPECT_FALSE(t.user.empty()) << t.raw;
        }
        if (cmd.starts_with("postgres: ")) {
            EXPECT_TRUE(is_postgres_title(cmd));
        }
    }
    closedir(d);
    EXPECT_GT(seen, 0);
}

// A commit waiting for synchronous replication: SyncRepWaitForLSN appends
// " waiting for <LSN>" to the title (seen live on PG 15).
TEST(TitleLive, CommitWaitingForSynchronousReplication) {
    const auto t = parse_title(padded("postgres: postgres pgstall [local] COMMIT waiting for 0/30A5A110"));
    EXPECT_EQ(t.type, BackendType::ClientBackend);
    EXPECT_EQ(t.command, "COMMIT");
    EXPECT_EQ(t.state, ClientState::Active);
    EXPECT_FALSE(t.waiting);
    EXPECT_EQ(t.waiting_for_lsn, "0/30A5A110");
    // Not an LSN: the words stay the command's.
    const auto u = parse_title("postgres: app shop [local] SELECT waiting for godot");
    EXPECT_EQ(u.command, "SELECT waiting for godot");
    EXPECT_EQ(u.waiting_for_lsn, "");
}

}  // namespace
}  // namespace pgstall::model
