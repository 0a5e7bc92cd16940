// pgstall started before PostgreSQL is up, or left running while it goes
// down: it says it waits, finds the postmaster when it starts and tracks it
// and its children from then on (the startup process of crash recovery
// included), so a stall right after the start is flagged. The test cluster
// is stopped and started for real (scripts/pgcluster.sh stop-server,
// start-server); each step is checked in /proc, postgres' log or
// pg_stat_activity before pgstall's word is.
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

auto is_type(const std::string& type) {
  return [type](const Json& j) { return j.value("type", "") == type; };
}

auto is_process(const std::string& what, int pid) {
  return [what, pid](const Json& j) {
    return j.value("type", "") == "process" && j.value("event", "") == what && j.value("pid", 0) == pid;
  };
}

// The postgres processes running from `pgdata`, read in /proc: every one of
// them changes into the data directory.
std::set<int> server_pids(const std::string& pgdata) {
  std::set<int> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(e.path() / "comm");
    std::string c;
    std::getline(comm, c);
    std::error_code ec;
    if (c == "postgres" && fs::equivalent(e.path() / "cwd", pgdata, ec)) out.insert(std::stoi(name));
  }
  return out;
}

// The processes pgstall tracks, from its process events.
std::set<int> tracked(const Watch& w) {
  std::set<int> out;
  for (const auto& j : w.of_type("process")) {
    const std::string what = j.value("event", "");
    if (what == "postmaster_start" || what == "backend_start") out.insert(j.value("pid", 0));
    if (what == "postmaster_exit" || what == "backend_exit") out.erase(j.value("pid", 0));
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class StartupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "integration tests need root (BPF)";
    env_ = cluster_env(true);
    pgdata_ = env_["PGSTALL_PGDATA"];
    ASSERT_FALSE(pgdata_.empty()) << "pgcluster.sh up printed no PGSTALL_PGDATA";
  }
  // Whatever a test did, the next one finds the server running.
  void TearDown() override {
    auto r = run(script("pgcluster.sh") + " start-server >/dev/null");
    EXPECT_EQ(r.status, 0) << r.err;
  }

  void stop_server(const std::string& mode) {
    auto r = run(script("pgcluster.sh") + " stop-server --mode " + mode);
    ASSERT_EQ(r.status, 0) << r.err;
    // Really down: no postgres process runs from the data directory.
    ASSERT_TRUE(server_pids(pgdata_).empty()) << "postgres still runs from " << pgdata_;
  }
  // Starts the server; its postmaster's pid, checked in /proc and by SQL.
  int start_server() {
    auto r = run(script("pgcluster.sh") + " start-server");
    EXPECT_EQ(r.status, 0) << r.err;
    const int pm = postmaster_pid(env_);
    EXPECT_GT(pm, 0);
    EXPECT_TRUE(server_pids(pgdata_).count(pm)) << "postmaster.pid names " << pm << ", not running from " << pgdata_;
    EXPECT_EQ(psql("SELECT 1"), "1");
    return pm;
  }
  // The auxiliary processes of the running server, as it lists them itself.
  std::map<int, std::string> auxiliary_processes() {
    std::map<int, std::string> out;
    for (const auto& l : lines_of(psql("SELECT pid, backend_type FROM pg_stat_activity "
                                       "WHERE backend_type <> 'client backend' ORDER BY pid")))
      if (auto bar = l.find('|'); bar != std::string::npos) out[std::stoi(l.substr(0, bar))] = l.substr(bar + 1);
    return out;
  }
  std::vector<std::string> target() { return {"--data-dir", pgdata_}; }

  std::map<std::string, std::string> env_;
  std::string pgdata_;
};

}  // namespace

TEST_F(StartupTest, WaitsForAStoppedClusterThenTracksItAndFlagsAStallRightAfterItsStart) {
  stop_server("fast");
  ASSERT_FALSE(fs::exists(pgdata_ + "/postmaster.pid"));
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  EXPECT_EQ(w.of_type("start").at(0)["processes"], 0);
  auto wait = w.wait_for(is_type("waiting"), 5s);
  ASSERT_TRUE(wait) << w.dump();
  EXPECT_EQ(wait->json["data_dir"], pgdata_);
  EXPECT_EQ(wait->json["reason"], "no postmaster.pid");
  EXPECT_EQ(wait->json["message"], "waiting for PostgreSQL at " + pgdata_ + "…");
  w.run_for(1s);
  EXPECT_EQ(w.of_type("waiting").size(), 1u) << "the wait is said once\n" << w.dump();

  const int pm = start_server();
  ASSERT_GT(pm, 0);
  ASSERT_TRUE(w.wait_for(is_process("postmaster_start", pm), 5s)) << w.dump();
  // Every auxiliary process the server lists is tracked, by pid.
  const auto aux = auxiliary_processes();
  ASSERT_GE(aux.size(), 4u) << "checkpointer, background writer, walwriter, autovacuum launcher at least";
  for (const auto& [pid, type] : aux) {
    auto seen = w.wait_for(is_process("backend_start", pid), 3s);
    ASSERT_TRUE(seen) << type << " " << pid << " not tracked\n" << w.dump();
    EXPECT_EQ(seen->json["backend_type"], type);
  }
  // And every process of the server in /proc is among those tracked.
  w.run_for(1s);
  const auto live = server_pids(pgdata_);
  const auto mine = tracked(w);
  for (int pid : live) EXPECT_TRUE(mine.count(pid)) << "pid " << pid << " of the server is not tracked\n" << w.dump();

  // A real stall, right after the start: flagged as if pgstall had been
  // started after the server, with the lock tag from USDT (attached to the
  // postmaster found after the wait).
  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID"), holder = s.pid("HOLDER_PID");
  ASSERT_GT(waiter, 0);
  auto hit = w.wait_for(is_stall("lock-sleep", waiter), 12s);
  ASSERT_TRUE(hit) << "no lock-sleep for waiter " << waiter << "\n" << w.dump();
  EXPECT_LE(seconds_between(s.ready(), hit->at), 6.0);
  EXPECT_FALSE(hit->json["lower_bound"].get<bool>()) << "the wait began after tracking: " << hit->json.dump();
  EXPECT_EQ(hit->json["detail"]["lock"]["source"], "usdt") << hit->json.dump();
  EXPECT_NE(hit->json["summary"].get<std::string>().find("pid " + std::to_string(holder)), std::string::npos)
      << hit->json.dump();
  s.stop();
  EXPECT_EQ(w.stop(), 0);
  EXPECT_EQ(w.of_type("summary").size(), 1u);
}

TEST_F(StartupTest, CrashRecoveryStartupProcessIsTracked) {
  // Enough WAL after the last checkpoint for a redo that lasts a while.
  psql("CHECKPOINT");
  psql("CREATE TABLE IF NOT EXISTS walgen(a int, b text)");
  psql("INSERT INTO walgen SELECT g, repeat('x', 100) FROM generate_series(1, 1000000) g");
  stop_server("immediate");
  const std::string log = fs::path(env_["PGSTALL_MOUNT"]).parent_path() / "log/postgresql.log";
  const auto log_before = fs::file_size(log);

  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  ASSERT_TRUE(w.wait_for(is_type("waiting"), 5s)) << w.dump();
  const int pm = start_server();
  ASSERT_GT(pm, 0);
  psql("DROP TABLE walgen");

  // The startup process that replayed the WAL, by the pid postgres logged.
  std::ifstream f(log);
  f.seekg(static_cast<std::streamoff>(log_before));
  int startup = 0;
  std::string redo;
  bool end_of_recovery_checkpoint = false;
  for (std::string l; std::getline(f, l);) {
    if (l.find("LOG:  redo starts at") != std::string::npos) startup = std::stoi(l.substr(l.find('[') + 1));
    if (l.find("LOG:  redo done at") != std::string::npos) redo = l;
    end_of_recovery_checkpoint |= l.find("checkpoint starting: end-of-recovery") != std::string::npos;
  }
  ASSERT_GT(startup, 0) << "no crash recovery in " << log;
  ASSERT_TRUE(end_of_recovery_checkpoint) << log;
  std::cout << "crash recovery: " << redo << "\n";
  ASSERT_TRUE(w.wait_for(is_process("postmaster_start", pm), 3s)) << w.dump();
  auto seen = w.wait_for(is_process("backend_start", startup), 3s);
  ASSERT_TRUE(seen) << "the startup process " << startup << " was not tracked\n" << w.dump();
  // The checkpointer was tracked before the end-of-recovery checkpoint began.
  auto ckpt = w.wait_for(
      [](const Json& j) {
        return j.value("type", "") == "checkpoint" && j.value("event", "") == "start" &&
               j.value("flags", "").find("end-of-recovery") != std::string::npos;
      },
      3s);
  EXPECT_TRUE(ckpt) << w.dump();
  EXPECT_EQ(w.stop(), 0);
}

TEST_F(StartupTest, PostmasterExitIsSaidAndTheNextOneOnItsDataDirectoryFollowed) {
  const int pm = postmaster_pid(env_);
  ASSERT_GT(pm, 0);
  Watch w({"--pid", std::to_string(pm)});
  ASSERT_TRUE(w.started()) << w.dump();
  EXPECT_GT(w.of_type("start").at(0)["processes"].get<int>(), 1);
  w.run_for(1s);
  EXPECT_TRUE(w.of_type("waiting").empty()) << w.dump();

  stop_server("fast");
  ASSERT_TRUE(w.wait_for(is_process("postmaster_exit", pm), 5s)) << w.dump();
  auto wait = w.wait_for(is_type("waiting"), 5s);
  ASSERT_TRUE(wait) << w.dump();
  EXPECT_EQ(wait->json["reason"], "postmaster " + std::to_string(pm) + " exited");
  EXPECT_EQ(wait->json["data_dir"], pgdata_);
  w.run_for(1s);

  const int pm2 = start_server();
  ASSERT_GT(pm2, 0);
  ASSERT_NE(pm2, pm);
  ASSERT_TRUE(w.wait_for(is_process("postmaster_start", pm2), 5s)) << w.dump();
  for (const auto& [pid, type] : auxiliary_processes())
    EXPECT_TRUE(w.wait_for(is_process("backend_start", pid), 3s)) << type << " " << pid << "\n" << w.dump();
  EXPECT_EQ(w.of_type("waiting").size(), 1u) << "said once\n" << w.dump();
  EXPECT_EQ(w.stop(), 0);
}

// A postmaster.pid left behind names a dead pid: still a wait, not an error.
// --duration and Ctrl-C end the wait with the usual summary; record waits
// the same way and writes a readable file.
TEST_F(StartupTest, StalePostmasterPidIsWaitedForAndTheWaitEndsCleanly) {
  const int old_pm = postmaster_pid(env_);
  ASSERT_GT(old_pm, 0);
  stop_server("fast");
  // Gone (or a zombie not reaped yet: no longer running either).
  std::ifstream stat("/proc/" + std::to_string(old_pm) + "/stat");
  std::string st;
  std::getline(stat, st);
  ASSERT_TRUE(st.empty() || st.find(") Z ") != std::string::npos) << st;
  { std::ofstream(pgdata_ + "/postmaster.pid") << old_pm << "\n" << pgdata_ << "\n"; }

  auto r = run(pgstall_binary() + " watch --json --duration 2s --data-dir " + pgdata_);
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<Json> out;
  for (const auto& l : lines_of(r.out)) out.push_back(Json::parse(l));
  ASSERT_GE(out.size(), 3u) << r.out;
  EXPECT_EQ(out.front()["type"], "start");
  EXPECT_EQ(out[1]["type"], "waiting") << r.out;
  EXPECT_EQ(out[1]["reason"], "postmaster.pid names pid " + std::to_string(old_pm) + ", which is not running");
  EXPECT_EQ(out.back()["type"], "summary") << r.out;

  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  ASSERT_TRUE(w.wait_for(is_type("waiting"), 5s)) << w.dump();
  EXPECT_EQ(w.stop(), 0);  // SIGINT
  EXPECT_EQ(w.of_type("summary").size(), 1u) << w.dump();

  const std::string file = "/tmp/pgstall-itest-startup.pgstall";
  fs::remove(file);
  r = run(pgstall_binary() + " record --plain --duration 2s -o " + file + " --data-dir " + pgdata_);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("pgstall: waiting for PostgreSQL at " + pgdata_ + "…"), std::string::npos) << r.out;
  auto rep = run(pgstall_binary() + " report " + file);
  EXPECT_EQ(rep.status, 0) << rep.err;
  fs::remove(file);
  // The server starts over the stale file, as postgres itself allows.
  EXPECT_GT(start_server(), 0);
}

// Usage errors still fail at once, before any wait: a --pid that runs
// nothing, a data directory that does not exist or is not one.
TEST(StartupErrors, UsageErrorsFailAtOnce) {
  const auto bin = pgstall_binary();
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
           {"--pid 999999", "no process with pid 999999"},
           {"--data-dir /nonexistent", "data directory /nonexistent does not exist"},
           {"--data-dir /tmp", "/tmp is not a PostgreSQL data directory (no PG_VERSION in it)"}}) {
    for (const std::string sub : {"watch", "record -o /tmp/pgstall-itest-never.pgstall"}) {
      const auto t0 = Clock::now();
      auto r = run(bin + " " + sub + " " + args + " --duration 30s");
      EXPECT_EQ(r.status, 2) << sub << " " << args << ": " << r.err;
      EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
      EXPECT_LT(seconds_between(t0, Clock::now()), 5.0) << sub << " " << args;
      EXPECT_FALSE(fs::exists("/tmp/pgstall-itest-never.pgstall"));
    }
  }
}
