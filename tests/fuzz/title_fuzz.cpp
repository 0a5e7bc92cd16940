// libFuzzer target: the process-title parser.
// Any input: arbitrary /proc/PID/cmdline bytes. Besides no crash and no
// sanitizer report, every parse must hold to what the parser promises: fields
// taken from the title (never invented), known enum values, fields that fit
// the type, deterministic, and blind to whatever follows a ps title's first
// NUL (padding).
// Inputs that start with \x01: the rest drives a generator of titles as
// PostgreSQL writes them (ps_status.c), from parts the parser can tell apart
// (names without blanks or colons); the parse must give those parts back.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "model/title.h"

using pgstall::model::BackendType;
using pgstall::model::ClientState;
using pgstall::model::ProcessTitle;

namespace {

[[noreturn]] void broken(const char* what, std::string_view input) {
  std::fprintf(stderr, "title property broken: %s\ninput (%zu bytes): ", what, input.size());
  for (unsigned char c : input) std::fprintf(stderr, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

#define EXPECT(cond)                         \
  do {                                       \
    if (!(cond)) broken(#cond, input);       \
  } while (0)

bool same(const ProcessTitle& a, const ProcessTitle& b) {
  return a.type == b.type && a.cluster == b.cluster && a.user == b.user && a.database == b.database &&
         a.client == b.client && a.command == b.command && a.state == b.state && a.waiting == b.waiting &&
         a.waiting_for_lsn == b.waiting_for_lsn && a.detail == b.detail && a.leader_pid == b.leader_pid &&
         a.data_dir_arg == b.data_dir_arg && a.raw == b.raw;
}

bool blank(char c) { return c == ' ' || c == '\t'; }
bool control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
bool trimmed(std::string_view s) { return s.empty() || (!blank(s.front()) && !blank(s.back())); }
bool within(std::string_view part, std::string_view whole) { return whole.find(part) != std::string_view::npos; }
bool connection(BackendType t) { return t == BackendType::ClientBackend || t == BackendType::WalSender; }

bool is_lsn(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == s.size()) return false;
  return s.find_first_not_of("0123456789abcdefABCDEF/") == std::string_view::npos && s.find('/', slash + 1) == s.npos;
}

// "[local]" or "host(port)" with a numeric port.
bool is_client(std::string_view c) {
  if (c == "[local]") return true;
  const size_t open = c.rfind('(');
  if (open == std::string_view::npos || open == 0 || c.back() != ')' || open + 2 >= c.size()) return false;
  return c.substr(open + 1, c.size() - open - 2).find_first_not_of("0123456789") == std::string_view::npos;
}

void check(std::string_view input, const ProcessTitle& t) {
  constexpr std::string_view kPrefix = "postgres: ";
  const bool ps_title = input.starts_with(kPrefix);

  // Known enum values, and names for them.
  EXPECT(static_cast<int>(t.type) >= 0 && t.type <= BackendType::Unknown);
  EXPECT(static_cast<int>(t.state) >= 0 && t.state <= ClientState::Fastpath);
  EXPECT((pgstall::model::backend_type_name(t.type) == "unknown") == (t.type == BackendType::Unknown));
  EXPECT(pgstall::model::client_state_name(t.state) != "none" || t.state == ClientState::None);

  // raw: one line, trimmed, and every field taken from it, not made up.
  for (char c : t.raw) EXPECT(!control(c));
  EXPECT(trimmed(t.raw));
  for (const std::string* f : {&t.cluster, &t.user, &t.database, &t.client, &t.command, &t.waiting_for_lsn})
    EXPECT(within(*f, t.raw));
  // detail too, except the two words said of single-user and bootstrap argv.
  if (ps_title) EXPECT(within(t.detail, t.raw));
  else EXPECT(t.detail.empty() || t.detail == "standalone backend" || t.detail == "bootstrap");
  EXPECT(within(t.data_dir_arg, input));
  // Fields that are words or phrases carry no blanks at their ends.
  for (const std::string* f : {&t.user, &t.database, &t.client, &t.command, &t.detail}) EXPECT(trimmed(*f));
  EXPECT(t.user.find(' ') == std::string::npos && t.client.find(' ') == std::string::npos);

  // The type found is one the input can say.
  if (t.type != BackendType::Unknown) EXPECT(pgstall::model::is_postgres_title(input));
  if (ps_title) EXPECT(pgstall::model::is_postgres_title(input));
  if (!ps_title) {
    // argv: a postmaster (or nothing); never the fields of a connection.
    EXPECT(t.type == BackendType::Postmaster || t.type == BackendType::Unknown);
    EXPECT(t.user.empty() && t.client.empty() && t.cluster.empty() && !t.waiting && t.waiting_for_lsn.empty());
  } else {
    EXPECT(t.data_dir_arg.empty() && t.type != BackendType::Postmaster);
  }

  // Fields that fit the type.
  if (connection(t.type)) {
    EXPECT(!t.user.empty() && is_client(t.client));
    EXPECT(t.state == (t.command.empty() ? ClientState::None : t.state));
  } else {
    EXPECT(t.user.empty() && t.client.empty() && t.command.empty() && t.state == ClientState::None);
  }
  if (!t.database.empty()) EXPECT(connection(t.type) || t.type == BackendType::AutovacuumWorker);
  if (t.type == BackendType::WalSender) EXPECT(t.detail == t.command);
  if (!t.waiting_for_lsn.empty()) EXPECT(is_lsn(t.waiting_for_lsn));
  if (t.waiting) EXPECT(t.raw.ends_with(" waiting"));
  if (t.leader_pid != 0) {
    EXPECT(t.type == BackendType::ParallelWorker && t.leader_pid > 0);
    constexpr std::string_view kFor = "for PID ";
    EXPECT(t.detail.starts_with(kFor));
    const std::string_view digits = std::string_view(t.detail).substr(kFor.size());
    int pid = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    EXPECT(ec == std::errc{} && end == digits.data() + digits.size() && pid == t.leader_pid);
  }
  if (t.state == ClientState::Idle) EXPECT(t.command == "idle");
}


// --- Titles as PostgreSQL writes them, and the parts they were made of ---

std::string word(FuzzedDataProvider& p, std::string_view alphabet, size_t max_len) {
  const size_t n = p.ConsumeIntegralInRange<size_t>(1, max_len);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += alphabet[p.ConsumeIntegralInRange<size_t>(0, alphabet.size() - 1)];
  return out;
}

// A user, database or cluster name: no blank, no colon, not a word the
// title itself uses at that place ("walsender" before a user, "waiting" last).
std::string name(FuzzedDataProvider& p, std::string_view extra = "") {
  std::string w = word(p, std::string("abcdefghijklmnopqrstuvwxyz0123456789_") + std::string(extra), 12);
  return w == "waiting" || w == "walsender" || w == "bgworker" ? w + "_" : w;
}

std::string lsn(FuzzedDataProvider& p) {
  return word(p, "0123456789ABCDEF", 8) + "/" + word(p, "0123456789ABCDEF", 8);
}

void generated(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  ProcessTitle want;
  if (p.ConsumeBool()) want.cluster = name(p, "/.-");
  std::string fixed, activity;
  const int shape = p.ConsumeIntegralInRange(0, 3);
  if (shape <= 1) {  // a connection: [walsender ]user [database ]client activity
    want.type = shape == 0 ? BackendType::ClientBackend : BackendType::WalSender;
    want.user = name(p);
    if (shape == 0 || p.ConsumeBool()) want.database = name(p);
    want.client = p.ConsumeBool() ? "[local]"
                                  : word(p, "0123456789abcdef.:", 15) + "(" + word(p, "0123456789", 5) + ")";
    static const char* const kActivities[] = {"idle", "idle in transaction", "idle in transaction (aborted)",
                                              "<FASTPATH>", "authentication", "startup", "SELECT", "UPDATE",
                                              "COMMIT", "streaming 0/3000148", "START_REPLICATION", ""};
    activity = kActivities[p.ConsumeIntegralInRange<size_t>(0, std::size(kActivities) - 1)];
    static const ClientState kStates[] = {ClientState::Idle, ClientState::IdleInTransaction,
                                          ClientState::IdleInTransactionAborted, ClientState::Fastpath,
                                          ClientState::None, ClientState::None};
    want.state = activity.empty() ? ClientState::None : ClientState::Active;
    for (size_t i = 0; i < std::size(kStates); ++i)
      if (activity == kActivities[i]) want.state = kStates[i];
    want.command = activity;
    if (want.type == BackendType::WalSender) want.detail = activity;
    fixed = (shape == 1 ? "walsender " : "") + want.user + (want.database.empty() ? "" : " " + want.database) + " " +
            want.client;
  } else if (shape == 2) {  // a process of the server's own
    struct Builtin {
      const char* name;
      BackendType type;
    };
    static const Builtin kBuiltins[] = {
        {"checkpointer", BackendType::Checkpointer},
        {"background writer", BackendType::BackgroundWriter},
        {"walwriter", BackendType::WalWriter},
        {"autovacuum launcher", BackendType::AutovacuumLauncher},
        {"autovacuum worker", BackendType::AutovacuumWorker},
        {"startup", BackendType::Startup},
        {"walreceiver", BackendType::WalReceiver},
        {"archiver", BackendType::Archiver},
        {"logger", BackendType::Logger},
        {"stats collector", BackendType::StatsCollector},
        {"logical replication launcher", BackendType::LogicalReplicationLauncher},
        {"parallel worker", BackendType::ParallelWorker},
    };
    const Builtin& b = kBuiltins[p.ConsumeIntegralInRange<size_t>(0, std::size(kBuiltins) - 1)];
    want.type = b.type;
    fixed = b.name;
    if (b.type == BackendType::AutovacuumWorker) want.database = want.detail = name(p);
    if (b.type == BackendType::Startup && p.ConsumeBool()) want.detail = "recovering " + word(p, "0123456789ABCDEF", 24);
    if (b.type == BackendType::Archiver && p.ConsumeBool()) want.detail = "last was " + word(p, "0123456789ABCDEF", 24);
    if (b.type == BackendType::WalReceiver && p.ConsumeBool()) want.detail = "streaming " + lsn(p);
    if (b.type == BackendType::ParallelWorker) {
      want.leader_pid = p.ConsumeIntegralInRange(1, 4194304);
      fixed += " for PID " + std::to_string(want.leader_pid);
      want.detail = "for PID " + std::to_string(want.leader_pid);
    } else {
      activity = want.detail;
    }
  } else {  // an extension's background worker: capitalised, unlike every built-in name
    want.type = BackendType::BackgroundWorker;
    want.detail = "X" + name(p);
    while (p.ConsumeBool() && want.detail.size() < 60) want.detail += " " + name(p, "/");
    fixed = want.detail;
  }
  // A lock wait appends " waiting"; a commit waiting for its synchronous
  // standbys " waiting for <LSN>".
  const int suffix = activity.empty() && shape <= 1 ? 0 : p.ConsumeIntegralInRange(0, 2);
  want.waiting = suffix == 1;
  if (suffix == 2) want.waiting_for_lsn = lsn(p);
  std::string title = "postgres: " + (want.cluster.empty() ? "" : want.cluster + ": ") + fixed + " " + activity;
  if (want.waiting) title += (activity.empty() ? "" : " ") + std::string("waiting");
  if (!want.waiting_for_lsn.empty()) title += (activity.empty() ? "" : " ") + ("waiting for " + want.waiting_for_lsn);
  std::string cmdline = title;
  cmdline.append(p.ConsumeIntegralInRange<size_t>(0, 64), '\0');  // the rest of the argv area

  const ProcessTitle got = pgstall::model::parse_title(cmdline);
  const std::string_view input = cmdline;
  check(input, got);
  want.raw = got.raw;
  EXPECT(same(got, want));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] == 1) {
    generated(data + 1, size - 1);
    return 0;
  }
  const std::string input(reinterpret_cast<const char*>(data), size);
  const ProcessTitle t = pgstall::model::parse_title(input);
  check(input, t);
  // Deterministic: the same bytes, the same reading.
  EXPECT(same(t, pgstall::model::parse_title(input)));
  // A ps title is one C string: padding after its NUL changes nothing.
  if (input.starts_with("postgres: ")) {
    std::string padded = input;
    padded.append("\0\0 checkpointer\0", 16);
    EXPECT(same(t, pgstall::model::parse_title(padded)));
  }
  // " waiting" appended to a title that has none: the same reading, waiting.
  if (input.starts_with("postgres: ") && input.find('\0') == std::string::npos && !t.waiting &&
      t.type != BackendType::Unknown && !t.raw.ends_with(" waiting")) {
    ProcessTitle w = pgstall::model::parse_title(input + " waiting");
    EXPECT(w.waiting);
    w.waiting = false;
    w.raw = t.raw;
    EXPECT(same(t, w));
  }
  return 0;
}
