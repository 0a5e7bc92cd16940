#include "model/title.h"

#include <array>
#include <cctype>
#include <charconv>
#include <vector>

namespace pgstall::model {
namespace {

constexpr std::string_view kTitlePrefix = "postgres: ";
constexpr std::string_view kWaitingSuffix = " waiting";
constexpr std::string_view kWaitingForSuffix = " waiting for ";

// "0/30A5A110": an LSN as Postgres prints it (%X/%X).
bool is_lsn(std::string_view s) {
    const size_t slash = s.find('/');
    if (slash == 0 || slash == std::string_view::npos || slash + 1 == s.size()) return false;
    for (size_t i = 0; i < s.size(); ++i)
        if (i != slash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

// Titles are shown on one line; control bytes (NUL separators, padding) become spaces.
std::string one_line(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = ' ';
    }
    return std::string(trim(out));
}

// s begins with the words w as whole words.
bool has_word_prefix(std::string_view s, std::string_view w) {
    return s.starts_with(w) && (s.size() == w.size() || s[w.size()] == ' ');
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

struct Token {
    std::string_view text;
    size_t begin;
    size_t end;
};

std::vector<Token> split_words(std::string_view s) {
    std::vector<Token> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_blank(s[i])) ++i;
        const size_t b = i;
        while (i < s.size() && !is_blank(s[i])) ++i;
        if (i > b) out.push_back({s.substr(b, i - b), b, i});
    }
    return out;
}

// "[local]" for Unix sockets; otherwise remote_host "(" remote_port ")", the
// port always numeric (NI_NUMERICSERV), the host an address or, with
// log_hostname, a name.
bool is_client_address(std::string_view tok) {
    if (tok == "[local]") return true;
    if (tok.size() < 4 || tok.back() != ')') return false;
    const size_t open = tok.rfind('(');
    if (open == std::string_view::npos || open == 0) return false;
    return all_digits(tok.substr(open + 1, tok.size() - open - 2));
}

ClientState state_of(std::string_view activity) {
    if (activity.empty()) return ClientState::None;
    if (activity == "idle") return ClientState::Idle;
    if (activity == "idle in transaction") return ClientState::IdleInTransaction;
    if (activity == "idle in transaction (aborted)") return ClientState::IdleInTransactionAborted;
    if (activity == "<FASTPATH>") return ClientState::Fastpath;
    // Connection setup: no query yet (pg_stat_activity shows state NULL).
    if (activity == "initializing" || activity == "authentication" || activity == "startup")
        return ClientState::None;
    return ClientState::Active;
}

// "[walsender ]user [database ]client [activity]". The client address is the
// anchor: everything before it is user and database, everything after is
// activity. User/database names with spaces are ambiguous; we take the first
// word as user and the rest as database.
bool parse_connection(std::string_view body, ProcessTitle& t) {
    const auto toks = split_words(body);
    size_t anchor = 0;
    for (size_t i = 1; i < toks.size(); ++i) {
        if (is_client_address(toks[i].text)) {
            anchor = i;
            break;
        }
    }
    if (anchor == 0) return false;

    size_t first = 0;
    // A user literally named "walsender" with a database is indistinguishable
    // from a physical walsender; the walsender reading is far likelier.
    if (toks[0].text == "walsender" && anchor >= 2) first = 1;
    t.type = first == 1 ? BackendType::WalSender : BackendType::ClientBackend;
    t.user = toks[first].text;
    if (anchor > first + 1) {
        const size_t b = toks[first + 1].begin;
        t.database = body.substr(b, toks[anchor - 1].end - b);
    }
    t.client = toks[anchor].text;
    const std::string_view activity = trim(body.substr(toks[anchor].end));
    t.command = activity;
    t.state = state_of(activity);
    if (t.type == BackendType::WalSender) t.detail = activity;
    return true;
}

struct Builtin {
    std::string_view name;
    BackendType type;
};

// GetBackendTypeDesc() spellings, which init_ps_display() uses as the fixed
// part, plus the bgw_name of core's own background workers.
constexpr std::array<Builtin, 12> kBuiltins{{
    {"checkpointer", BackendType::Checkpointer},
    {"background writer", BackendType::BackgroundWriter},
    {"walwriter", BackendType::WalWriter},
    {"autovacuum launcher", BackendType::AutovacuumLauncher},
    {"autovacuum worker", BackendType::AutovacuumWorker},
    {"startup", BackendType::Startup},
    {"walreceiver", BackendType::WalReceiver},
    {"archiver", BackendType::Archiver},
    {"logger", BackendType::Logger},
    {"stats collector", BackendType::StatsCollector},  // PG <= 14
    {"logical replication launcher", BackendType::LogicalReplicationLauncher},
    {"parallel worker", BackendType::ParallelWorker},  // bgw_name "parallel worker for PID %d"
}};

// Process types newer than this enum (PG 17: walsummarizer, slotsync worker;
// PG 18: io worker) or never titled in practice. Recognised so they are not
// mistaken for extension background workers.
constexpr std::array<std::string_view, 4> kUnmapped{
    "walsummarizer", "slotsync worker", "io worker", "standalone backend"};

int parse_leader_pid(std::string_view detail) {
    constexpr std::string_view kFor = "for PID ";
    if (!detail.starts_with(kFor)) return 0;
    const std::string_view num = detail.substr(kFor.size());
    int pid = 0;
    const auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), pid);
    if (ec != std::errc{} || ptr != num.data() + num.size() || pid <= 0) return 0;
    return pid;
}

// Recognises body (title after "postgres: " and any cluster prefix) only when
// it is a known process type or a connection; extension bgworkers are left
// to the caller's fallback.
bool classify_known(std::string_view body, ProcessTitle& t) {
    if (body.empty()) return false;
    if (parse_connection(body, t)) return true;

    for (const auto& b : kBuiltins) {
        if (!has_word_prefix(body, b.name)) continue;
        t.type = b.type;
        t.detail = trim(body.substr(b.name.size()));
        if (b.type == BackendType::AutovacuumWorker) t.database = t.detail;
        if (b.type == BackendType::ParallelWorker) t.leader_pid = parse_leader_pid(t.detail);
        return true;
    }

    // bgw_name: "logical replication worker for subscription %u" (PG <= 15),
    // "logical replication {apply,tablesync,parallel apply} worker for ..." (PG 16+).
    constexpr std::string_view kLogical = "logical replication ";
    if (body.starts_with(kLogical) && body.find("worker") != std::string_view::npos) {
        t.type = BackendType::LogicalReplicationWorker;
        t.detail = trim(body.substr(kLogical.size()));
        return true;
    }

    // PG <= 10 titled bgworkers "bgworker: <name>"; harmless to accept.
    constexpr std::string_view kLegacyBgworker = "bgworker: ";
    if (body.starts_with(kLegacyBgworker)) {
        t.type = BackendType::BackgroundWorker;
        t.detail = trim(body.substr(kLegacyBgworker.size()));
        return true;
    }

    for (std::string_view name : kUnmapped) {
        if (has_word_prefix(body, name)) {
            t.type = BackendType::Unknown;
            t.detail = body;
            return true;
        }
    }
    return false;
}

ProcessTitle parse_ps_title(std::string_view cmdline) {
    ProcessTitle t;
    // The title is one C string; whatever follows the first NUL is padding.
    t.raw = one_line(cmdline.substr(0, cmdline.find('\0')));

    std::string_view body = trim(std::string_view(t.raw).substr(kTitlePrefix.size() - 1));
    bool waiting = false;
    if (body.size() > kWaitingSuffix.size() && body.ends_with(kWaitingSuffix)) {
        waiting = true;
        body = trim(body.substr(0, body.size() - kWaitingSuffix.size()));
    }
    // SyncRepWaitForLSN appends " waiting for <LSN>" while a commit waits
    // for its synchronous standbys.
    std::string lsn;
    if (const size_t at = body.rfind(kWaitingForSuffix);
        at != std::string_view::npos && is_lsn(body.substr(at + kWaitingForSuffix.size()))) {
        lsn = body.substr(at + kWaitingForSuffix.size());
        body = trim(body.substr(0, at));
    }

    // With cluster_name set the title is "postgres: <cluster>: <fixed> ...".
    // cluster_name is free text, and bgworker names may contain ": " too
    // ("Citus Maintenance Daemon: 16384/10"), so prefer whichever reading
    // yields a known process type, and only then guess.
    const size_t sep = body.find(": ");
    const std::string_view candidate = sep == std::string_view::npos ? std::string_view{} : body.substr(0, sep);
    const std::string_view after = sep == std::string_view::npos ? std::string_view{} : trim(body.substr(sep + 2));
    const bool plausible_cluster = !candidate.empty() && candidate != "bgworker";

    ProcessTitle parsed;
    if (plausible_cluster && classify_known(after, parsed)) {
        parsed.cluster = candidate;
    } else if (parsed = ProcessTitle{}; classify_known(body, parsed)) {
        // no cluster prefix
    } else {
        parsed = ProcessTitle{};
        if (plausible_cluster && candidate.find(' ') == std::string_view::npos && !after.empty()) {
            // One-word prefix: most likely a cluster name before a bgworker's name.
            parsed.cluster = candidate;
            parsed.type = BackendType::BackgroundWorker;
            parsed.detail = after;
        } else if (body.size() > 1 && body.back() == ':' && body.find(' ') == std::string_view::npos) {
            parsed.cluster = body.substr(0, body.size() - 1);  // "postgres: 15/main:" with nothing after
        } else if (!body.empty()) {
            parsed.type = BackendType::BackgroundWorker;
            parsed.detail = body;
        }
    }
    parsed.waiting = waiting;
    parsed.waiting_for_lsn = std::move(lsn);
    parsed.raw = std::move(t.raw);
    return parsed;
}

std::vector<std::string_view> split_argv(std::string_view cmdline) {
    // /proc/PID/cmdline separates arguments with NULs; a string without any
    // NUL (hand-written input) is split on blanks instead.
    const char sep = cmdline.find('\0') != std::string_view::npos ? '\0' : ' ';
    std::vector<std::string_view> args;
    size_t i = 0;
    while (i <= cmdline.size()) {
        size_t j = cmdline.find(sep, i);
        if (j == std::string_view::npos) j = cmdline.size();
        if (j > i) args.push_back(cmdline.substr(i, j - i));
        i = j + 1;
    }
    return args;
}

std::string_view basename_of(std::string_view path) {
    const size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_postgres_executable(std::string_view argv0) {
    const std::string_view base = basename_of(argv0);
    return base == "postgres" || base == "postmaster";
}

std::string data_dir_from_args(const std::vector<std::string_view>& args) {
    std::string found;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string_view a = args[i];
        if (a == "-D" && i + 1 < args.size()) {
            found = args[++i];
        } else if (a.starts_with("-D") && a.size() > 2) {
            found = a.substr(2);
        } else if (a == "-c" && i + 1 < args.size() && args[i + 1].starts_with("data_directory=")) {
            found = args[++i].substr(std::string_view("data_directory=").size());
        } else if (a.starts_with("--data_directory=") || a.starts_with("--data-directory=")) {
            found = a.substr(std::string_view("--data_directory=").size());
        }
    }
    return found;
}

}  // namespace

ProcessTitle parse_title(std::string_view cmdline) {
    if (cmdline.starts_with(kTitlePrefix)) return parse_ps_title(cmdline);

    ProcessTitle t;
    t.raw = one_line(cmdline);
    const auto args = split_argv(cmdline);
    if (args.empty() || !is_postgres_executable(args[0])) return t;

    for (size_t i = 1; i < args.size(); ++i) {
        // initdb and recovery tooling run single-user and bootstrap modes:
        // postgres processes, but not a postmaster.
        if (args[i] == "--single") {
            t.detail = "standalone backend";
            return t;
        }
        if (args[i] == "--boot") {
            t.detail = "bootstrap";
            return t;
        }
    }
    t.type = BackendType::Postmaster;
    t.data_dir_arg = data_dir_from_args(args);
    return t;
}

std::string_view backend_type_name(BackendType type) {
    switch (type) {
        case BackendType::Postmaster: return "postmaster";
        case BackendType::Checkpointer: return "checkpointer";
        case BackendType::BackgroundWriter: return "background writer";
        case BackendType::WalWriter: return "walwriter";
        case BackendType::AutovacuumLauncher: return "autovacuum launcher";
        case BackendType::AutovacuumWorker: return "autovacuum worker";
        case BackendType::Startup: return "startup";
        case BackendType::WalSender: return "walsender";
        case BackendType::WalReceiver: return "walreceiver";
        case BackendType::Archiver: return "archiver";
        case BackendType::Logger: return "logger";
        case BackendType::StatsCollector: return "stats collector";
        case BackendType::LogicalReplicationLauncher: return "logical replication launcher";
        case BackendType::LogicalReplicationWorker: return "logical replication worker";
        case BackendType::ParallelWorker: return "parallel worker";
        case BackendType::BackgroundWorker: return "background worker";
        case BackendType::ClientBackend: return "client backend";
        case BackendType::Unknown: return "unknown";
    }
    return "unknown";
}

std::string_view client_state_name(ClientState state) {
    switch (state) {
        case ClientState::None: return "none";
        case ClientState::Active: return "active";
        case ClientState::Idle: return "idle";
        case ClientState::IdleInTransaction: return "idle in transaction";
        case ClientState::IdleInTransactionAborted: return "idle in transaction (aborted)";
        case ClientState::Fastpath: return "fastpath function call";
    }
    return "none";
}

bool is_postgres_title(std::string_view cmdline) {
    if (cmdline.starts_with(kTitlePrefix)) return true;
    const auto args = split_argv(cmdline);
    return !args.empty() && is_postgres_executable(args[0]);
}

}  // namespace pgstall::model
