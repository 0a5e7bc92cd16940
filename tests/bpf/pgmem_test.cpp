// WaitEventReader against a real PostgreSQL: the wait_event_info read from a
// backend's memory is the one pg_stat_activity shows for it at the same
// moment. Needs root and the cluster of scripts/pgcluster.sh (found through
// PGSTALL_PGDIR / PGSTALL_PGPORT, as the scripts default them); fails, never
// skips, when none answers.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "capture/pgmem.h"
#include "model/procfs.h"
#include "model/wait_event.h"
#include "symbols/elf.h"

using pgstall::capture::WaitEventReader;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// PG 15 src/include/utils/wait_event.h (REL_15_STABLE; the same text ships in
// postgresql-server-dev-15 15.18 as server/utils/wait_event.h, lines 17-26,
// 62, 142-144): the PG_WAIT_* class bytes, and positions in its enums.
//   WaitEventClient:  WAIT_EVENT_CLIENT_READ = PG_WAIT_CLIENT, ...       → ClientRead 0x06000000
//   WaitEventTimeout: WAIT_EVENT_BASE_BACKUP_THROTTLE = PG_WAIT_TIMEOUT,
//                     WAIT_EVENT_CHECKPOINT_WRITE_DELAY, WAIT_EVENT_PG_SLEEP → PgSleep 0x09000002
constexpr uint32_t kPgWaitClient = 0x06000000u;
constexpr uint32_t kPgWaitTimeout = 0x09000000u;
constexpr uint32_t kPg15ClientRead = kPgWaitClient | 0;
constexpr uint32_t kPg15PgSleep = kPgWaitTimeout | 2;

const std::map<uint8_t, std::string> kClassNames = {
    {0x01, "LWLock"}, {0x03, "Lock"}, {0x04, "BufferPin"}, {0x05, "Activity"}, {0x06, "Client"},
    {0x07, "Extension"}, {0x08, "IPC"}, {0x09, "Timeout"}, {0x0A, "IO"},
};

std::string class_name(uint32_t info) {
  auto it = kClassNames.find(static_cast<uint8_t>(info >> 24));
  return it == kClassNames.end() ? "?" : it->second;
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string env_or(const char* name, const char* dflt) {
  const char* v = std::getenv(name);
  return v && *v ? v : dflt;
}

// Highest /usr/lib/postgresql/N/bin (what scripts/lib.sh picks).
std::string pg_bindir() {
  std::string best;
  int best_v = -1;
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = d.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (access((d.path() / "bin/psql").c_str(), X_OK) != 0) continue;
    if (int v = std::stoi(name); v > best_v) {
      best_v = v;
      best = d.path() / "bin";
    }
  }
  return best;
}

struct Cluster {
  std::string pgdir, host, port, psql;
};

Cluster cluster() {
  Cluster c;
  c.pgdir = env_or("PGSTALL_PGDIR", "/tmp/pgstall-pg");
  c.port = env_or("PGSTALL_PGPORT", "54329");
  c.host = c.pgdir + "/sock";
  c.psql = pg_bindir() + "/psql";
  return c;
}

struct CmdResult {
  int status = -1;
  std::string out;
};

CmdResult run(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string psql_cmd(const Cluster& c, const std::string& sql) {
  return "timeout 30 " + c.psql + " -X -q -At -F '|' -h " + c.host + " -p " + c.port +
         " -U postgres -d pgstall -c \"" + sql + "\" 2>&1";
}

// One-shot query; rows split on '\n', nullopt when psql fails.
std::optional<std::vector<std::string>> sql(const Cluster& c, const std::string& q) {
  auto r = run(psql_cmd(c, q));
  if (r.status != 0) {
    ADD_FAILURE() << q << ": psql failed: " << r.out;
    return std::nullopt;
  }
  std::vector<std::string> rows;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(line);
  return rows;
}

// The cluster must answer; a missing one is a failure with directions.
bool require_cluster(const Cluster& c) {
  auto r = run(psql_cmd(c, "SELECT 1"));
  if (r.status == 0 && r.out.find('1') != std::string::npos) return true;
  ADD_FAILURE() << "no PostgreSQL reachable at PGSTALL_PGDIR=" << c.pgdir << " PGSTALL_PGPORT=" << c.port
                << " (psql: " << r.out << "). Start one: sudo PGSTALL_PGDIR=" << c.pgdir
                << " PGSTALL_PGPORT=" << c.port << " scripts/pgcluster.sh up";
  return false;
}

std::pair<std::string, std::string> sql_wait_event(const Cluster& c, int pid) {
  auto rows = sql(c, "SELECT coalesce(wait_event_type, ''), coalesce(wait_event, '') FROM pg_stat_activity "
                     "WHERE pid = " + std::to_string(pid));
  if (!rows || rows->size() != 1) return {"<no row>", ""};
  const auto& row = rows->front();
  const size_t bar = row.find('|');
  return {row.substr(0, bar), bar == std::string::npos ? "" : row.substr(bar + 1)};
}

// A psql session in the background. With `command`, it runs it; without, it
// sits idle on a pipe we hold, so its backend waits for the client.
class Session {
 public:
  Session(const Cluster& c, std::string appname, const std::string& command = "") : c_(c), app_(std::move(appname)) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) return;
    psql_ = fork();
    if (psql_ == 0) {
      dup2(in[0], 0);
      const int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      setenv("PGAPPNAME", app_.c_str(), 1);
      std::vector<std::string> args = {c.psql, "-X", "-q", "-h", c.host, "-p", c.port, "-U", "postgres", "-d", "pgstall"};
      if (!command.empty()) {
        args.push_back("-c");
        args.push_back(command);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    stdin_ = in[1];
  }
  ~Session() { stop(); }

  // Its backend's pid, once it shows in pg_stat_activity (with `wait_event`, if given).
  int backend(const std::string& wait_event = "", Clock::duration timeout = 15s) {
    const auto deadline = Clock::now() + timeout;
    std::string q = "SELECT pid FROM pg_stat_activity WHERE application_name = '" + app_ + "'";
    if (!wait_event.empty()) q += " AND wait_event = '" + wait_event + "'";
    while (Clock::now() < deadline) {
      auto rows = sql(c_, q);
      if (rows && rows->size() == 1) return backend_ = std::stoi(rows->front());
      std::this_thread::sleep_for(100ms);
    }
    return 0;
  }

  // Feeds the idle session a statement (it runs it and idles again).
  void send(const std::string& statement) {
    const std::string line = statement + "\n";
    ASSERT_EQ(write(stdin_, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }

  void stop() {
    if (psql_ <= 0) return;
    if (backend_ > 0) sql(c_, "SELECT pg_terminate_backend(" + std::to_string(backend_) + ")");
    close(stdin_);
    kill(psql_, SIGTERM);
    waitpid(psql_, nullptr, 0);
    psql_ = -1;
  }

 private:
  const Cluster& c_;
  std::string app_;
  pid_t psql_ = -1;
  int stdin_ = -1;
  int backend_ = 0;
};

std::string app_name(const char* what) { return std::string("pgmem_") + what + "_" + std::to_string(getpid()); }

// Reads, asks pg_stat_activity, reads again: when both reads agree, the SQL
// answer was taken while the value stood still. Retries a moving target.
struct Agreement {
  uint32_t info = 0;
  std::string type, event;
  bool stable = false;
  std::string error;  // a read failed
};

Agreement read_with_sql(WaitEventReader& r, const Cluster& c, int pid) {
  Agreement a;
  for (int attempt = 0; attempt < 20 && !a.stable; ++attempt) {
    const auto before = r.read(pid);
    if (!before) {
      a.error = before.error().message;
      return a;
    }
    std::tie(a.type, a.event) = sql_wait_event(c, pid);
    const auto after = r.read(pid);
    if (!after) {
      a.error = after.error().message;
      return a;
    }
    a.info = *after;
    a.stable = *before == *after;
    if (!a.stable) std::this_thread::sleep_for(50ms);
  }
  return a;
}

bool wait_for_state(int pid, char state, Clock::duration timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto st = pgstall::model::read_proc_stat(pid);
    if (st && st->state == state) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

bool wait_gone(int pid, Clock::duration timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!pgstall::model::read_proc_stat(pid)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

int postmaster_of(int backend) {
  auto st = pgstall::model::read_proc_stat(backend);
  return st ? st->ppid : 0;
}

}  // namespace

// The symbol and layout libelf finds in the installed server binary, checked
// against binutils' readelf.
TEST(PgMem, InspectsTheInstalledServerBinary) {
  const std::string bin = pg_bindir() + "/postgres";
  const int fd = open(bin.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << bin;
  const auto elf = pgstall::symbols::ElfFile::open(pgstall::UniqueFd(fd));
  ASSERT_TRUE(elf) << elf.error().message;
  const auto x = pgstall::capture::inspect_executable(*elf);
  ASSERT_TRUE(x) << x.error().message;
  EXPECT_TRUE(x->is_postgres);
  EXPECT_TRUE(x->has_symbols);
  EXPECT_EQ(x->ptr_size, 8u);
  EXPECT_EQ(x->build_id.size(), 40u) << x->build_id;
  ASSERT_TRUE(x->wait_event_ptr);
  EXPECT_EQ(pgstall::capture::unsupported_reason(*x, 15), std::nullopt);

  const auto syms = run("readelf -W --dyn-syms " + bin + " | awk '$8 == \"my_wait_event_info\" {print $2}'");
  EXPECT_EQ(std::stoull(syms.out, nullptr, 16), *x->wait_event_ptr) << "readelf: " << syms.out;
  const auto note = run("readelf -n " + bin + " | awk '/Build ID/ {print $3}'");
  EXPECT_EQ(note.out, x->build_id + "\n");
  const auto load = run("readelf -lW " + bin + " | awk '$1 == \"LOAD\" {print $2, $3; exit}'");
  std::istringstream in(load.out);
  std::string off, vaddr;
  in >> off >> vaddr;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(x->load_offset, std::stoull(off, nullptr, 16) & ~(page - 1)) << load.out;
  EXPECT_EQ(x->load_vaddr, std::stoull(vaddr, nullptr, 16) & ~(page - 1)) << load.out;
}

TEST(PgMem, ReasonsAWaitEventCannotBeRead) {
  using pgstall::capture::PgExecutable;
  using pgstall::capture::unsupported_reason;
  PgExecutable pg13;
  pg13.is_postgres = pg13.has_symbols = true;
  EXPECT_EQ(unsupported_reason(pg13, 13).value_or("").rfind("unsupported: PostgreSQL 13 has no my_wait_event_info", 0),
            0u);
  EXPECT_NE(unsupported_reason(pg13, 0).value_or("").find("no my_wait_event_info symbol (stripped?"),
            std::string::npos);
  EXPECT_NE(unsupported_reason(pg13, 16).value_or("").find("(stripped?"), std::string::npos);
  PgExecutable other;
  other.has_symbols = true;
  EXPECT_NE(unsupported_reason(other, 0).value_or("").find("not a PostgreSQL server"), std::string::npos);
  PgExecutable bare;
  EXPECT_NE(unsupported_reason(bare, 0).value_or("").find("no symbol table"), std::string::npos);
  PgExecutable ok = pg13;
  ok.wait_event_ptr = 0x875ec8;
  EXPECT_EQ(unsupported_reason(ok, 15), std::nullopt);
}

TEST(PgMem, VersionFromInstallPath) {
  using pgstall::capture::pg_major_from_path;
  EXPECT_EQ(pg_major_from_path("/usr/lib/postgresql/15/bin/postgres"), 15);
  EXPECT_EQ(pg_major_from_path("/usr/lib/postgresql/13/bin/postgres (deleted)"), 13);
  EXPECT_EQ(pg_major_from_path("/usr/pgsql-16/bin/postgres"), 16);
  EXPECT_EQ(pg_major_from_path("/opt/postgresql/bin/postgres"), 0);
  EXPECT_EQ(pg_major_from_path("/usr/local/pgsql/bin/postgres"), 0);
  EXPECT_EQ(pg_major_from_path("/usr/lib/postgresql/15"), 0);
}

TEST(PgMem, PgSleepAndIdleSessionsMatchPgStatActivity) {
  ASSERT_EQ(geteuid(), 0u) << "reading another process's memory needs root";
  const Cluster c = cluster();
  ASSERT_TRUE(require_cluster(c));

  Session sleeper(c, app_name("sleep"), "SELECT pg_sleep(30)");
  Session idle(c, app_name("idle"));
  const int sleep_pid = sleeper.backend("PgSleep");
  const int idle_pid = idle.backend("ClientRead");
  ASSERT_GT(sleep_pid, 0) << "the pg_sleep session never showed wait_event PgSleep";
  ASSERT_GT(idle_pid, 0) << "the idle session never showed wait_event ClientRead";

  WaitEventReader r;
  const Agreement s = read_with_sql(r, c, sleep_pid);
  ASSERT_TRUE(s.stable) << s.error;
  EXPECT_EQ(s.type, "Timeout");
  EXPECT_EQ(s.event, "PgSleep");
  EXPECT_EQ(s.info & 0xff000000u, kPgWaitTimeout) << hex(s.info);
  EXPECT_EQ(class_name(s.info), s.type);
  EXPECT_EQ(s.info, kPg15PgSleep) << hex(s.info);

  const Agreement i = read_with_sql(r, c, idle_pid);
  ASSERT_TRUE(i.stable) << i.error;
  EXPECT_EQ(i.type, "Client");
  EXPECT_EQ(i.event, "ClientRead");
  EXPECT_EQ(i.info & 0xff000000u, kPgWaitClient) << hex(i.info);
  EXPECT_EQ(class_name(i.info), i.type);
  EXPECT_EQ(i.info, kPg15ClientRead) << hex(i.info);

  EXPECT_EQ(r.pg_major(sleep_pid), 15);
  auto exe = r.executable(sleep_pid);
  ASSERT_TRUE(exe);
  EXPECT_TRUE(exe->is_postgres);
  EXPECT_FALSE(exe->build_id.empty());
  // Both backends are forks of one postmaster: one executable, one address.
  EXPECT_EQ(r.cached_executables(), 1u);
  EXPECT_EQ(r.pointer_address(sleep_pid), r.pointer_address(idle_pid));

  // Once the backend is gone, the cached address gives way to a clear error.
  sleeper.stop();
  ASSERT_TRUE(wait_gone(sleep_pid)) << "backend " << sleep_pid << " did not exit";
  const auto after_exit = r.read(sleep_pid);
  EXPECT_FALSE(after_exit);
  EXPECT_NE(after_exit.error().message.find("has exited"), std::string::npos) << after_exit.error().message;
  EXPECT_EQ(r.pointer_address(sleep_pid), std::nullopt);
}

// Every process pg_stat_activity lists (backends, a heavyweight-lock waiter,
// auxiliary processes) reads as what it shows, decoded with the PG 15 tables.
TEST(PgMem, EveryProcessMatchesPgStatActivity) {
  ASSERT_EQ(geteuid(), 0u);
  const Cluster c = cluster();
  ASSERT_TRUE(require_cluster(c));
  Session holder(c, app_name("holder"));
  ASSERT_GT(holder.backend("ClientRead"), 0);
  holder.send("BEGIN; LOCK TABLE hot IN ACCESS EXCLUSIVE MODE;");
  Session waiter(c, app_name("waiter"), "SELECT count(*) FROM hot");
  ASSERT_GT(waiter.backend("relation"), 0) << "no session waited on the table lock";

  auto rows = sql(c, "SELECT pid, backend_type FROM pg_stat_activity WHERE pid <> pg_backend_pid()");
  ASSERT_TRUE(rows);
  ASSERT_GE(rows->size(), 4u);  // at least checkpointer, bgwriter, walwriter, our session
  WaitEventReader r;
  bool saw_lock = false;
  for (const auto& row : *rows) {
    const int pid = std::stoi(row.substr(0, row.find('|')));
    const Agreement a = read_with_sql(r, c, pid);
    // An autovacuum worker may come and go meanwhile.
    if (a.type == "<no row>" || (!a.error.empty() && !pgstall::model::read_proc_stat(pid))) continue;
    ASSERT_TRUE(a.stable) << row << ": " << a.error;
    const auto ev = pgstall::model::decode_wait_event(a.info, r.pg_major(pid));
    const std::string ours = ev ? ev->type + ":" + ev->name : ":";
    EXPECT_EQ(ours, a.type + ":" + a.event) << row << " read " << hex(a.info);
    std::printf("[ sweep    ] %s: %s %s\n", row.c_str(), hex(a.info).c_str(), ours.c_str());
    saw_lock = saw_lock || a.info >> 24 == 0x03;
  }
  EXPECT_TRUE(saw_lock);
  EXPECT_EQ(r.cached_executables(), 1u);
}

TEST(PgMem, PostmasterReadsAsNotWaiting) {
  ASSERT_EQ(geteuid(), 0u);
  const Cluster c = cluster();
  ASSERT_TRUE(require_cluster(c));
  Session idle(c, app_name("pm"));
  const int backend = idle.backend("ClientRead");
  ASSERT_GT(backend, 0);
  const int pm = postmaster_of(backend);
  ASSERT_GT(pm, 1);

  WaitEventReader r;
  const auto v = r.read(pm);
  ASSERT_TRUE(v) << v.error().message;
  // The postmaster has no PGPROC: the pointer still aims at its local dummy.
  EXPECT_EQ(*v, 0u) << hex(*v);
  const auto b = r.read(backend);
  ASSERT_TRUE(b) << b.error().message;
  // Forked without exec: the same load base, so the same address.
  EXPECT_EQ(r.pointer_address(pm), r.pointer_address(backend));
}

TEST(PgMem, ExitedAndZombieProcessesGiveClearErrors) {
  WaitEventReader r;

  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_EQ(waitpid(gone, nullptr, 0), gone);
  const auto g = r.read(gone);
  EXPECT_FALSE(g);
  EXPECT_NE(g.error().message.find("pid " + std::to_string(gone) + ": no such process"), std::string::npos)
      << g.error().message;

  const pid_t zombie = fork();
  if (zombie == 0) _exit(0);
  ASSERT_TRUE(wait_for_state(zombie, 'Z'));
  const auto z = r.read(zombie);
  EXPECT_FALSE(z);
  EXPECT_NE(z.error().message.find("has exited"), std::string::npos) << z.error().message;
  waitpid(zombie, nullptr, 0);

  const auto zero = r.read(0);
  EXPECT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("not a process id"), std::string::npos) << zero.error().message;
  EXPECT_EQ(r.cached_pids(), 0u);
}

TEST(PgMem, NonPostgresProcessesGiveClearErrors) {
  ASSERT_EQ(geteuid(), 0u);
  WaitEventReader r;

  const pid_t sleeper = fork();
  if (sleeper == 0) {
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait for the exec to land (the child runs our binary until then).
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline &&
         pgstall::model::read_proc_link(sleeper, "exe").value_or("").find("sleep") == std::string::npos)
    std::this_thread::sleep_for(5ms);
  const auto sl = r.read(sleeper);
  EXPECT_FALSE(sl);
  EXPECT_NE(sl.error().message.find("not a PostgreSQL server"), std::string::npos) << sl.error().message;
  EXPECT_NE(sl.error().message.find("sleep"), std::string::npos) << sl.error().message;
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);

  // This test binary: an ELF with symbols, but no PostgresMain.
  const auto self = r.read(getpid());
  EXPECT_FALSE(self);
  EXPECT_NE(self.error().message.find("not a PostgreSQL server"), std::string::npos) << self.error().message;

  // kthreadd: no executable at all.
  const auto kthreadd = r.read(2);
  EXPECT_FALSE(kthreadd);
  EXPECT_NE(kthreadd.error().message.find("kernel thread"), std::string::npos) << kthreadd.error().message;
  EXPECT_EQ(r.cached_pids(), 0u);
}

// An unprivileged reader gets told why it cannot read, not a wrong value.
TEST(PgMem, UnprivilegedReaderIsToldWhy) {
  ASSERT_EQ(geteuid(), 0u);
  const Cluster c = cluster();
  ASSERT_TRUE(require_cluster(c));
  Session idle(c, app_name("perm"));
  const int backend = idle.backend("ClientRead");
  ASSERT_GT(backend, 0);
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(out[0]);
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(126);
    WaitEventReader r;
    const auto v = r.read(backend);
    const std::string msg = v ? "read " + hex(*v) : v.error().message;
    if (write(out[1], msg.data(), msg.size()) < 0) _exit(1);
    _exit(0);
  }
  close(out[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) msg.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int st = 0;
  waitpid(child, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_NE(msg.find("pid " + std::to_string(backend) + ": not permitted"), std::string::npos) << msg;
  EXPECT_NE(msg.find("run as root"), std::string::npos) << msg;
}

// After a package upgrade the running binary's path is gone ("… (deleted)");
// the reader must still read the file the process runs, not whatever the path
// names now. A copy of the server binary, run as postgres with
// --describe-config into a pipe nobody reads, blocks in write(); then its
// file is deleted.
TEST(PgMem, DeletedExecutableStillReads) {
  ASSERT_EQ(geteuid(), 0u);
  const Cluster c = cluster();
  ASSERT_TRUE(require_cluster(c));
  Session idle(c, app_name("del"));
  const int backend = idle.backend("ClientRead");
  ASSERT_GT(backend, 0);
  const auto server_exe = pgstall::model::read_proc_link(backend, "exe");
  ASSERT_TRUE(server_exe);
  const int major = pgstall::capture::pg_major_from_path(*server_exe);
  ASSERT_GT(major, 0) << *server_exe;

  char tmpl[] = "/tmp/pgstall-pgmem-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path root = tmpl;
  const std::filesystem::path bin = root / "lib/postgresql" / std::to_string(major) / "bin";
  std::filesystem::create_directories(bin);
  std::filesystem::permissions(root, std::filesystem::perms(0755));
  const std::filesystem::path copy = bin / "postgres";
  std::filesystem::copy_file("/proc/" + std::to_string(backend) + "/exe", copy);
  std::filesystem::permissions(copy, std::filesystem::perms(0755));
  struct Cleanup {
    std::filesystem::path root;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(root, ec);
    }
  } cleanup{root};

  const passwd* pw = getpwnam("postgres");
  ASSERT_NE(pw, nullptr);
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  fcntl(out[1], F_SETPIPE_SZ, 4096);
  const pid_t child = fork();
  if (child == 0) {
    dup2(out[1], 1);
    close(out[0]);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    if (chdir("/") != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) _exit(126);
    execl(copy.c_str(), "postgres", "--describe-config", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  struct Reap {
    pid_t pid;
    int fd;
    ~Reap() {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(fd);
    }
  } reap{child, out[0]};

  // Blocked writing its output (state S) from the copied binary.
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    auto st = pgstall::model::read_proc_stat(child);
    if (st && st->state == 'S' && pgstall::model::read_proc_link(child, "exe").value_or("") == copy.string()) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(pgstall::model::read_proc_link(child, "exe").value_or(""), copy.string());
  ASSERT_TRUE(std::filesystem::remove(copy));
  ASSERT_EQ(pgstall::model::read_proc_link(child, "exe").value_or(""), copy.string() + " (deleted)");

  WaitEventReader r;
  const auto v = r.read(child);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, 0u) << hex(*v);  // no PGPROC: the local dummy
  auto exe = r.executable(child);
  ASSERT_TRUE(exe);
  EXPECT_EQ(exe->path, copy.string() + " (deleted)");
  EXPECT_EQ(r.pg_major(child), major);
  const auto b = r.read(backend);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(r.executable(backend)->build_id, exe->build_id);
  EXPECT_EQ(r.cached_executables(), 2u);  // two files, same build
}

// Not a timed test: prints what one read costs, for docs and the report.
TEST(PgMem, PerReadCost) {
  ASSERT_EQ(geteuid(), 0u);
  const Cluster c = cluster();
  ASSERT_TRUE(require_cluster(c));
  Session idle(c, app_name("cost"));
  const int pid = idle.backend("ClientRead");
  ASSERT_GT(pid, 0);

  auto us_per = [](int n, auto&& body) {
    const auto t0 = Clock::now();
    for (int k = 0; k < n; ++k) body();
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
  };
  std::string err;  // the last failure
  const auto failed = [&err](const pgstall::Result<uint32_t>& v) {
    if (!v) err = v.error().message;
    return !v;
  };
  WaitEventReader warm;
  const auto first = warm.read(pid);
  ASSERT_TRUE(first) << first.error().message;
  int failures = 0;
  const double warm_us = us_per(20000, [&] { failures += failed(warm.read(pid)); });
  const double pid_miss_us = us_per(2000, [&] {
    warm.forget(pid);
    failures += failed(warm.read(pid));
  });
  const double cold_us = us_per(100, [&] {
    WaitEventReader cold;
    failures += failed(cold.read(pid));
  });
  // The two process_vm_readv alone, without the start-time check.
  const uint64_t addr = *warm.pointer_address(pid);
  const double vm_us = us_per(20000, [&] {
    uint64_t p = 0;
    uint32_t v = 0;
    iovec l{&p, 8}, rm{reinterpret_cast<void*>(addr), 8};
    failures += process_vm_readv(pid, &l, 1, &rm, 1, 0) != 8;
    l = {&v, 4};
    rm = {reinterpret_cast<void*>(p), 4};
    failures += process_vm_readv(pid, &l, 1, &rm, 1, 0) != 4;
  });
  EXPECT_EQ(failures, 0) << err;
  std::printf(
      "[ cost     ] read(): %.2f us cached; %.1f us on a pid miss (maps); %.0f us cold (ELF symbols too); "
      "the two process_vm_readv alone: %.2f us\n",
      warm_us, pid_miss_us, cold_us, vm_us);
}
