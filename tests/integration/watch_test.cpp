// pgstall watch against a real PostgreSQL and the real kernel: each stall is
// provoked for real by scripts/scenario/*.sh and must be named, for the right
// pid, with the right kind, in time; the healthy run must name nothing.
#include <future>
#include <set>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

class WatchTest : public ClusterTest {};

}  // namespace

TEST_F(WatchTest, RowLockWaiterFlaggedAsLockSleepNotTheHolder) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID"), holder = s.pid("HOLDER_PID");
  ASSERT_GT(waiter, 0);
  ASSERT_GT(holder, 0);

  auto hit = w.wait_for(is_stall("lock-sleep", waiter), 12s);
  ASSERT_TRUE(hit) << "no lock-sleep for waiter " << waiter << "\n" << w.dump();
  // Flagged within the 5 s threshold + 1 s of the wait being in place.
  EXPECT_LE(seconds_between(s.ready(), hit->at), 6.0);
  const auto& j = hit->json;
  EXPECT_EQ(j["backend_type"], "client backend");
  EXPECT_EQ(j["syscall"], "epoll_wait");
  EXPECT_GE(j["duration_s"].get<double>(), 5.0);
  bool holder_named = false;
  for (const auto& c : j["detail"]["holder_candidates"]) holder_named |= c["pid"] == holder;
  EXPECT_TRUE(holder_named) << "holder " << holder << " not among the candidates: " << j.dump();

  s.stop();  // the holder commits: the wait ends
  auto end = w.wait_for(
      [&](const Json& x) { return x.value("type", "") == "stall_end" && x.value("pid", 0) == waiter; }, 5s);
  ASSERT_TRUE(end) << "no stall_end after the holder committed\n" << w.dump();
  // The holder's COMMIT woke the waiter.
  EXPECT_EQ(end->json["woken_by"], holder) << end->json.dump();
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) EXPECT_NE(st["pid"], holder) << "the holder was flagged: " << st.dump();
}

TEST_F(WatchTest, FrozenFilesystemIoWaitAndLwlockWaits) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("fsfreeze");
  ASSERT_TRUE(s.ok());
  auto backends = s.pids("BACKEND_PIDS");
  ASSERT_FALSE(backends.empty());

  auto io = w.wait_for(is_stall("io-wait", 0), 10s);
  ASSERT_TRUE(io) << "nothing flagged io-wait under fsfreeze\n" << w.dump();
  EXPECT_EQ(io->json["state"], "D") << io->json.dump();
  // The kernel stack says where it sleeps: the freeze's write barrier.
  auto stack = io->json["detail"].value("kernel_stack", Json::array()).dump();
  EXPECT_NE(stack.find("percpu_rwsem"), std::string::npos) << io->json.dump();

  std::set<int> backend_set(backends.begin(), backends.end());
  auto lw = w.wait_for(
      [&](const Json& j) {
        return j.value("type", "") == "stall" && j.value("kind", "") == "lwlock-wait" &&
               backend_set.count(j.value("pid", 0));
      },
      8s);
  EXPECT_TRUE(lw) << "no pgbench backend flagged lwlock-wait\n" << w.dump();
  s.stop();  // thaw
  w.run_for(3s);
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) {
    auto kind = st["kind"].get<std::string>();
    EXPECT_TRUE(kind == "io-wait" || kind == "lwlock-wait") << "unexpected under fsfreeze: " << st.dump();
  }
  EXPECT_FALSE(w.of_type("stall_end").empty()) << "stalls did not end after the thaw\n" << w.dump();
}

namespace {
// The hot loop, flagged with its mix, whether the syscall tracepoints attach
// when the backend turns busy (auto) or were there from the start (always).
void expect_hot_loop_flagged(Watch& w, double bound_s) {
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("hotloop");
  ASSERT_TRUE(s.ok());
  const int hot = s.pid("HOT_PID");
  ASSERT_GT(hot, 0);
  auto hit = w.wait_for(is_stall("hot-loop", hot), 10s);
  ASSERT_TRUE(hit) << "hot loop of pid " << hot << " not flagged\n" << w.dump();
  EXPECT_LE(seconds_between(s.ready(), hit->at), bound_s);
  const auto& d = hit->json["detail"];
  EXPECT_GE(d["rate_per_s"].get<double>(), 5000);
  ASSERT_FALSE(d["mix"].empty());
  EXPECT_GE(d["repeat_share"].get<double>(), 0.8);
  EXPECT_EQ(d["client_io"], 0);
  EXPECT_EQ(w.stop(), 0);
}
}  // namespace

TEST_F(WatchTest, HotSyscallLoopFlaggedWithItsMix) {
  Watch w(target());
  // Up to 1 s to see it busy and attach the syscall tracepoints, then 3 s of
  // loop judged on whole 1 s windows.
  expect_hot_loop_flagged(w, 6.0);
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_GT(summary[0]["syscall_tracing_s"].get<double>(), 3.0) << summary[0].dump();
}

TEST_F(WatchTest, HotSyscallLoopFlaggedWithSyscallsAlwaysTraced) {
  Watch w(target({"--syscalls", "always"}));
  // 3 s of loop on whole 1 s windows.
  expect_hot_loop_flagged(w, 5.0);
}

TEST_F(WatchTest, SequentialScanIsProgressNotAHotLoop) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("seqscan");
  ASSERT_TRUE(s.ok());
  const int scan = s.pid("SCAN_PID");
  ASSERT_GT(scan, 0);
  // The kernel's own count of read syscalls: the scan must really be fast
  // enough to look like a loop by rate alone, else this test proves nothing.
  auto syscr = [&] {
    auto r = run("awk '/^syscr/{print $2}' /proc/" + std::to_string(scan) + "/io");
    return r.out.empty() ? 0.0 : std::stod(r.out);
  };
  double before = syscr();
  w.run_for(8s);
  double rate = (syscr() - before) / 8.0;
  EXPECT_GT(rate, 5000) << "the scan made only " << rate << " reads/s";
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall"))
    EXPECT_NE(st["pid"], scan) << "the scan was flagged: " << st.dump();
  // Judged, not unseen: the busy scan had its syscalls traced.
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_GT(summary[0]["syscall_tracing_s"].get<double>(), 5.0) << summary[0].dump();
}

TEST_F(WatchTest, CpuBoundQueryFlagged) {
  Watch w(target({"--cpu-bound", "5s"}));
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("cpubound");
  ASSERT_TRUE(s.ok());
  const int cpu = s.pid("CPU_PID");
  ASSERT_GT(cpu, 0);
  auto hit = w.wait_for(is_stall("cpu-bound", cpu), 15s);
  ASSERT_TRUE(hit) << "cpu-bound query of pid " << cpu << " not flagged\n" << w.dump();
  // Up to 1 s to see it busy and start counting its syscalls, then 5 s of
  // counted CPU-bound time.
  EXPECT_LE(seconds_between(s.ready(), hit->at), 8.0);
  EXPECT_GE(hit->json["detail"]["cpu_share"].get<double>(), 0.7);
  EXPECT_LT(hit->json["detail"]["syscalls_per_s"].get<double>(), 500);
  EXPECT_EQ(w.stop(), 0);
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_GT(summary[0]["syscall_tracing_s"].get<double>(), 4.0) << summary[0].dump();
}

TEST_F(WatchTest, HealthyLoadFlagsNothing) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("healthy", "PGSTALL_HEALTHY_SECONDS=30");
  ASSERT_TRUE(s.ok());
  ASSERT_GT(s.pid("IDLE_TX_PID"), 0);
  ASSERT_GT(s.pid("SLEEP_PID"), 0);
  w.run_for(30s);
  EXPECT_EQ(w.stop(), 0);
  EXPECT_TRUE(w.of_type("stall").empty()) << "false stalls on a healthy server:\n" << w.dump();
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  // It did see the load: the backends switched in and out a lot.
  EXPECT_GT(summary[0]["counters"]["switches"].get<uint64_t>(), 10000u) << summary[0].dump();
  EXPECT_EQ(summary[0]["counters"]["ring_drops"], 0);
  // Busy backends that wait for their client between messages do not make
  // pgstall trace every syscall.
  EXPECT_LT(summary[0]["syscall_tracing_s"].get<double>(), 3.0) << summary[0].dump();
}

// pgbench -S at full speed (2 clients, 2 threads, 2 CPUs): its backends are
// on CPU nearly all the time and hardly ever sleep — by CPU and waits alone
// they look like loops — but each ends thousands of statements a second
// (their pg_stat_activity entries move). Auto mode leaves their syscalls
// untraced; a busy loop inside one statement still turns tracing on
// (HotSyscallLoopFlaggedWithItsMix, LoopTest.ReadFileLoop…TurnsTracingOn).
TEST_F(WatchTest, FullSpeedPgbenchSelectDoesNotTurnSyscallTracingOn) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  auto bench = std::async(std::launch::async, [&] {
    return run("cd / && runuser -u postgres -- " + env_["PGSTALL_BINDIR"] + "/pgbench -h " + env_["PGSTALL_PGHOST"] +
               " -p " + env_["PGSTALL_PGPORT"] + " -n -S -c 2 -j 2 -T 10 pgstall");
  });
  while (bench.wait_for(0s) != std::future_status::ready) w.run_for(200ms);
  const auto r = bench.get();
  ASSERT_EQ(r.status, 0) << r.err;
  // It really ran at full speed: thousands of transactions a second.
  const auto at = r.out.find("tps = ");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_GT(std::stod(r.out.substr(at + 6)), 5000) << r.out;
  w.run_for(1s);
  EXPECT_EQ(w.stop(), 0);
  EXPECT_TRUE(w.of_type("stall").empty()) << w.dump();
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_LT(summary[0]["syscall_tracing_s"].get<double>(), 1.0) << summary[0].dump();
}

TEST_F(WatchTest, PostmasterRestartMidTraceIsFollowed) {
  const int old_pm = postmaster_pid(env_);
  ASSERT_GT(old_pm, 0);
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  // A restart as an operator would do it: the postmaster exits, a new one starts.
  const size_t before = w.lines().size();
  auto r = run("cd / && runuser -u postgres -- " + env_["PGSTALL_BINDIR"] + "/pg_ctl -D " + env_["PGSTALL_PGDATA"] +
               " restart -m fast -w -l /tmp/pgstall-itest-restart.log >/dev/null");
  ASSERT_EQ(r.status, 0) << r.err;
  // The old postmaster's own events may come after `before` (the first
  // tick): match by pid.
  auto is_event = [](const char* what, bool old, int pm) {
    return [=](const Json& j) {
      return j.value("type", "") == "process" && j.value("event", "") == what && (j.value("pid", 0) == pm) == old;
    };
  };
  EXPECT_TRUE(w.wait_for(is_event("postmaster_exit", true, old_pm), 10s, before)) << w.dump();
  auto started = w.wait_for(is_event("postmaster_start", false, old_pm), 10s, before);
  EXPECT_TRUE(started) << w.dump();
  // Started while watching: announced; the one running at the start was not.
  if (started) EXPECT_EQ(started->json["already_running"], false) << started->json.dump();
  auto found = w.wait_for(is_event("postmaster_start", true, old_pm), 1s);
  ASSERT_TRUE(found) << w.dump();
  EXPECT_EQ(found->json["already_running"], true) << found->json.dump();
  // Backends of the new postmaster are seen again.
  EXPECT_EQ(psql("SELECT 1"), "1");
  EXPECT_EQ(w.stop(), 0);
}

TEST(WatchErrors, BadTargetsFailClearly) {
  auto bin = pgstall_binary();
  auto r = run(bin + " watch --pid 999999 --duration 1s");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("no process with pid 999999"), std::string::npos) << r.err;
  r = run(bin + " watch --pid 1 --duration 1s");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("not a PostgreSQL process"), std::string::npos) << r.err;
  // A data directory that does not exist is a usage error; one that exists
  // with no postmaster.pid is waited for (tests/integration/startup_test.cpp).
  r = run(bin + " watch --data-dir /nonexistent --duration 1s");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("data directory /nonexistent does not exist"), std::string::npos) << r.err;
  r = run(bin + " watch --duration soon");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("not a duration"), std::string::npos) << r.err;
}

// No postgres at all: in a new pid namespace with its own /proc, the test
// cluster is invisible, as if nothing ran. pgstall says so and waits for a
// server to start (issue 11 §5: it used to exit 2), until --duration.
TEST(WatchErrors, NoPostgresRunningSaysSo) {
  auto r = run("unshare --pid --fork --mount-proc " + pgstall_binary() + " watch --duration 1s");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("pgstall: waiting for a PostgreSQL server to start on this machine…"), std::string::npos)
      << r.out;
  // With --json too: the wait is a "waiting" line, no stall, then the summary.
  r = run("unshare --pid --fork --mount-proc " + pgstall_binary() + " watch --json --duration 1s");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("\"type\":\"stall\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"type\":\"waiting\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"type\":\"summary\""), std::string::npos) << r.out;
  std::istringstream lines(r.out);
  for (std::string l; std::getline(lines, l);) EXPECT_FALSE(Json::parse(l, nullptr, false).is_discarded()) << l;
}

TEST(WatchErrors, NotRootSaysSo) {
  auto r = run("setpriv --reuid=65534 --regid=65534 --clear-groups " + pgstall_binary() + " watch --duration 1s");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("needs root"), std::string::npos) << r.err;
}
