// record → report → flamegraph, on the real kernel and a real Postgres: a
// row-lock wait recorded with its stacks, a CPU-bound query sampled on CPU,
// and the files read back.
#include <unistd.h>

#include <fstream>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

struct Folded {
  uint64_t total = 0;
  std::vector<std::pair<std::string, uint64_t>> lines;  // frames joined by ';', weight
  // Weight of the stacks with a frame that contains `part`.
  uint64_t weight_with(const std::string& part) const {
    uint64_t w = 0;
    for (const auto& [l, n] : lines) {
      size_t pos = 0;
      bool hit = false;
      while (!hit && pos <= l.size()) {
        size_t semi = l.find(';', pos);
        std::string f = l.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
        hit = f.find(part) != std::string::npos;
        if (semi == std::string::npos) break;
        pos = semi + 1;
      }
      if (hit) w += n;
    }
    return w;
  }
  std::string head(size_t n = 8) const {
    std::string s;
    for (size_t i = 0; i < lines.size() && i < n; ++i) s += lines[i].first + " " + std::to_string(lines[i].second) + "\n";
    return s;
  }
};

Folded folded(const std::string& text) {
  Folded f;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    uint64_t w = std::stoull(line.substr(sp + 1));
    f.lines.emplace_back(line.substr(0, sp), w);
    f.total += w;
  }
  std::sort(f.lines.begin(), f.lines.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return f;
}

std::string temp_file(const std::string& suffix) {
  return "/tmp/pgstall-itest-" + std::to_string(getpid()) + suffix;
}

// A lock wait that began before the recording: its time is in the report's
// Lock class, marked as a lower bound (≥), and drawn by --kind lock with the
// stack its stall read (ProcSleep) — at least `min_s` of it.
void expect_pre_recording_lock_time(const std::string& file, int waiter, double min_s) {
  auto rep = run(pgstall_binary() + " report --json " + file);
  ASSERT_EQ(rep.status, 0) << rep.err;
  auto j = Json::parse(rep.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << rep.out;
  const auto& lock = j["offcpu_by_class"]["Lock"];
  ASSERT_TRUE(lock.is_object()) << j["offcpu_by_class"].dump();
  EXPECT_GE(lock["seconds"].get<double>(), min_s) << lock.dump();
  EXPECT_TRUE(lock.value("lower_bound", false)) << lock.dump();
  auto text = run(pgstall_binary() + " report " + file);
  ASSERT_EQ(text.status, 0) << text.err;
  const auto at = text.out.find("OFF-CPU TIME BY WAIT CLASS");
  ASSERT_NE(at, std::string::npos) << text.out;
  const auto line = text.out.find("Lock", at);
  ASSERT_NE(line, std::string::npos) << text.out;
  EXPECT_NE(text.out.substr(line, text.out.find('\n', line) - line).find("≥"), std::string::npos) << text.out;
  auto fl = run(pgstall_binary() + " flamegraph " + file + " --kind lock --format folded --pid " +
                std::to_string(waiter));
  ASSERT_EQ(fl.status, 0) << fl.err;
  EXPECT_GE(folded(fl.out).weight_with("ProcSleep"), static_cast<uint64_t>(min_s * 1e9)) << fl.out;
}

}  // namespace

TEST(RecordTest, RowLockRecordingReportsTheWaitAndDrawsProcSleep) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  const std::string file = temp_file(".pgstall");
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "--lock-sleep", "2s", "-o", file, "-d", "60s", "--until-stall-ends"},
          "record");
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID"), holder = s.pid("HOLDER_PID");
  auto hit = w.wait_for(is_stall("lock-sleep", waiter), 8s);
  ASSERT_TRUE(hit) << w.dump();
  // The exact stack it sleeps in, taken at its switch-out.
  const auto& stack = hit->json["detail"]["stack"];
  ASSERT_TRUE(stack.is_array()) << hit->json.dump();
  EXPECT_NE(stack.dump().find("ProcSleep"), std::string::npos) << stack.dump();
  // Unwound by CFI from the registers saved at the sleep: the caller of
  // libc's epoll_wait, which a frame-pointer walk loses, is there.
  EXPECT_EQ(hit->json["detail"].value("stack_unwind", ""), "dwarf") << hit->json.dump();
  {
    std::vector<std::string> f;
    for (const auto& x : stack) f.push_back(x.get<std::string>());
    auto latch = std::find(f.begin(), f.end(), "WaitLatch");
    auto ep = std::find(f.begin(), f.end(), "epoll_wait");
    ASSERT_TRUE(latch != f.end() && ep != f.end() && latch < ep) << stack.dump();
    EXPECT_NE(std::find(latch, ep, "WaitEventSetWait"), ep) << stack.dump();
  }
  std::this_thread::sleep_for(2s);  // not a synchronisation: the wait goes on, the recording keeps its time
  s.stop();  // the holder commits: the wait ends, and so does the recording
  EXPECT_EQ(w.wait_exit(20s), 0) << "record did not stop after the stall ended\n" << w.dump();

  auto rep = run(pgstall_binary() + " report --json " + file);
  ASSERT_EQ(rep.status, 0) << rep.err;
  auto j = Json::parse(rep.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << rep.out;
  EXPECT_TRUE(j["ended"].get<bool>()) << j["end_reason"];
  EXPECT_EQ(j["end_reason"], "every stall ended");
  EXPECT_TRUE(j["lost"].empty()) << j["lost"].dump();
  // The symbol context: postgres' build-id, for naming postgres+0x… later.
  bool pg_build_id = false;
  for (const auto& [path, id] : j["build_ids"].items())
    pg_build_id |= path.size() >= 9 && path.compare(path.size() - 9, 9, "/postgres") == 0 && id.get<std::string>().size() == 40;
  EXPECT_TRUE(pg_build_id) << j["build_ids"].dump();
  EXPECT_GE(j.value("processes_with_maps", 0), 5) << "the maps of each process are in the file";
  bool found = false;
  for (const auto& st : j["stalls"]) {
    if (st["pid"] != waiter || st["kind"] != "lock-sleep") continue;
    found = true;
    EXPECT_TRUE(st["ended"].get<bool>()) << st.dump();
    EXPECT_EQ(st["woken_by"], holder) << st.dump();
    EXPECT_GE(st["duration_s"].get<double>(), 4.0) << st.dump();
  }
  EXPECT_TRUE(found) << rep.out;
  auto text = run(pgstall_binary() + " report " + file);
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("lock-sleep"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("TOP OFF-CPU STACKS"), std::string::npos) << text.out;

  // The waiter's off-CPU time while in work: the lock sleep through ProcSleep
  // is at least 90 % of it. Its wait for its client's next statement after
  // the UPDATE (secure_read) is not work; it is counted up to the end of the
  // recording (sleeps still under way at the end count), so it is left out.
  auto off = run(pgstall_binary() + " flamegraph " + file + " --kind offcpu --format folded --pid " +
                 std::to_string(waiter));
  ASSERT_EQ(off.status, 0) << off.err;
  auto lock = run(pgstall_binary() + " flamegraph " + file + " --kind lock --format folded --pid " +
                  std::to_string(waiter));
  ASSERT_EQ(lock.status, 0) << lock.err;
  auto fo = folded(off.out), fl = folded(lock.out);
  ASSERT_GT(fo.total, 0u);
  const uint64_t in_work = fo.total - fo.weight_with("secure_read");
  EXPECT_GE(fl.weight_with("ProcSleep"), in_work * 9 / 10) << "off-CPU:\n" << fo.head() << "lock:\n" << fl.head();

  // The SVG: written, self-contained, with the frame in it.
  const std::string svg = temp_file(".svg");
  auto g = run(pgstall_binary() + " flamegraph " + file + " --kind lock -o " + svg);
  ASSERT_EQ(g.status, 0) << g.err;
  std::ifstream in(svg);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(body.rfind("<?xml", 0), 0u);
  EXPECT_NE(body.find("ProcSleep"), std::string::npos);
  unlink(svg.c_str());
  unlink(file.c_str());
}

TEST(RecordTest, CpuBoundQueryIsExecutorFramesOnCpu) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  const std::string file = temp_file("-cpu.pgstall");
  Scenario s("cpubound", "PGSTALL_CPUBOUND_QUERY=sql PGSTALL_SCENARIO_TIMEOUT=60");
  ASSERT_TRUE(s.ok());
  const int backend = s.pid("CPU_PID");
  ASSERT_GT(backend, 0);
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "-o", file, "-d", "6s", "--oncpu-hz", "99"}, "record");
  ASSERT_TRUE(w.started()) << w.dump();
  EXPECT_EQ(w.wait_exit(30s), 0) << w.dump();
  s.stop();
  auto on = run(pgstall_binary() + " flamegraph " + file + " --kind oncpu --format folded --pid " +
                std::to_string(backend));
  ASSERT_EQ(on.status, 0) << on.err;
  auto f = folded(on.out);
  // About 6 s at 99 Hz on one busy backend.
  EXPECT_GE(f.total, 300u) << f.head();
  // The executor under most samples: standard_ExecutorRun is exported by
  // Debian's postgres (the plan nodes' functions are static, shown as
  // postgres+0x...; JIT-compiled expressions as [anon]+0x...).
  EXPECT_GE(f.weight_with("ExecutorRun"), f.total * 8 / 10) << f.head();
  EXPECT_LT(f.weight_with("stack gone"), f.total / 20) << f.head();
  auto sc = run(pgstall_binary() + " flamegraph " + file + " --kind oncpu --format speedscope");
  ASSERT_EQ(sc.status, 0) << sc.err;
  auto j = Json::parse(sc.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["profiles"][0]["type"], "sampled");
  unlink(file.c_str());
}

// A recorder killed with SIGKILL leaves a file that reports, says it was cut
// short, and loses nothing before.
TEST(RecordTest, KilledRecorderLeavesAReadableFile) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  const std::string file = temp_file("-killed.pgstall");
  auto r = run("timeout -s KILL 6 " + pgstall_binary() + " record --data-dir " + env["PGSTALL_PGDATA"] + " -o " + file +
               " -d 60s");
  EXPECT_EQ(r.status, 137) << r.err;  // killed, as intended
  auto rep = run(pgstall_binary() + " report --json " + file);
  ASSERT_EQ(rep.status, 0) << rep.err;
  auto j = Json::parse(rep.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << rep.out;
  EXPECT_FALSE(j["ended"].get<bool>());
  EXPECT_GE(j["snapshots"].get<int>(), 2) << rep.out;
  auto text = run(pgstall_binary() + " report " + file);
  EXPECT_NE(text.out.find("recorder was killed"), std::string::npos) << text.out;
  // Damage: a flipped byte in the middle is named, with a non-zero exit.
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    auto size = static_cast<long>(f.tellg());
    ASSERT_GT(size, 200);
    f.seekp(size / 2);
    f.put('\x7f');
  }
  auto bad = run(pgstall_binary() + " report " + file);
  EXPECT_EQ(bad.status, 3) << bad.err;
  EXPECT_NE(bad.err.find("checksum"), std::string::npos) << bad.err;
  auto junk = run(pgstall_binary() + " report /etc/hostname");
  EXPECT_EQ(junk.status, 2);
  EXPECT_NE(junk.err.find("not a pgstall recording"), std::string::npos) << junk.err;
  unlink(file.c_str());
}

// watch --folded: the off-CPU stacks seen, folded, at exit. An idle
// server's processes may not complete one sleep in a few seconds (and a
// sleep begun before pgstall has no stack), so a session sleeps and wakes
// meanwhile.
TEST(RecordTest, WatchWritesFoldedStacks) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  const std::string file = temp_file(".folded");
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "-d", "5s", "--folded", file});
  ASSERT_TRUE(w.started()) << w.dump();
  psql("SELECT pg_sleep(0.3); SELECT pg_sleep(0.3); SELECT pg_sleep(0.3)");
  ASSERT_EQ(w.wait_exit(15s), 0) << w.dump();
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto f = folded(text);
  ASSERT_FALSE(f.lines.empty()) << "no stacks in " << file;
  for (const auto& [l, w] : f.lines) {
    EXPECT_GT(w, 0u) << l;
    // Rooted at a postgres process type, user frames then kernel frames.
    const std::string root = l.substr(0, l.find(';'));
    EXPECT_TRUE(root == "walwriter" || root == "checkpointer" || root == "background writer" ||
                root == "autovacuum launcher" || root == "autovacuum worker" || root == "postmaster" ||
                root == "logical replication launcher" || root == "client backend" || root == "short-lived process" ||
                root == "unknown")
        << l;
  }
  EXPECT_GT(f.weight_with("[k]"), 0u) << f.head();
  EXPECT_GT(f.weight_with("pg_sleep"), 0u) << "the session's pg_sleep is not there:\n" << f.head(20);
  unlink(file.c_str());
}

// A stall under way before the recorder starts (the usual case at 3 a.m.):
// no switch-out was seen, so its registers come from a task iterator and its
// kernel stack from /proc; the stack is still unwound whole.
TEST(RecordTest, StallUnderWayBeforeRecordingHasItsStack) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID");
  // Not a synchronisation (the scenario saw the wait begin): the stall is
  // older than the recorder, as at 3 a.m., and past its deadlock check (1 s).
  std::this_thread::sleep_for(1500ms);
  const std::string file = temp_file("-pre.pgstall");
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "--lock-sleep", "2s", "-o", file, "-d", "30s"}, "record");
  ASSERT_TRUE(w.started()) << w.dump();
  auto hit = w.wait_for(is_stall("lock-sleep", waiter), 8s);
  ASSERT_TRUE(hit) << w.dump();
  EXPECT_TRUE(hit->json.value("lower_bound", false)) << hit->json.dump();
  const auto& d = hit->json["detail"];
  EXPECT_EQ(d.value("stack_unwind", ""), "dwarf") << d.dump();
  std::vector<std::string> f;
  for (const auto& x : d["stack"]) f.push_back(x.get<std::string>());
  auto has = [&](const std::string& n) { return std::find(f.begin(), f.end(), n) != f.end(); };
  EXPECT_TRUE(has("ProcSleep") && has("WaitEventSetWait") && has("epoll_wait")) << d["stack"].dump();
  EXPECT_TRUE(!f.empty() && f.back().find("[k]") != std::string::npos) << d["stack"].dump();  // kernel frames last
  std::this_thread::sleep_for(1s);  // not a synchronisation: the wait goes on a little longer
  s.stop();                         // the holder commits: the sleep older than the recorder ends
  std::this_thread::sleep_for(1s);  // not a synchronisation: a drain or two after the wake
  EXPECT_EQ(w.stop(), 0);
  expect_pre_recording_lock_time(file, waiter, 3.0);
  unlink(file.c_str());
}

// The same stall still going when the recording ends: the sleep in progress
// is in the off-CPU time too (the kernel adds a sleep only when it ends).
TEST(RecordTest, StallStillUnderWayWhenTheRecordingEndsCountsInTheFlameGraph) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID");
  std::this_thread::sleep_for(1500ms);  // as above: older than the recorder, past its deadlock check
  const std::string file = temp_file("-inflight.pgstall");
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "--lock-sleep", "2s", "-o", file, "-d", "6s"}, "record");
  ASSERT_TRUE(w.started()) << w.dump();
  ASSERT_TRUE(w.wait_for(is_stall("lock-sleep", waiter), 8s)) << w.dump();
  EXPECT_EQ(w.wait_exit(20s), 0) << w.dump();
  ASSERT_EQ(psql("SELECT wait_event_type FROM pg_stat_activity WHERE pid = " + std::to_string(waiter)), "Lock")
      << "the waiter must still wait when the recording ends";
  expect_pre_recording_lock_time(file, waiter, 5.0);
  s.stop();
  unlink(file.c_str());
}

// Recording through a frozen filesystem: the recorder never reads the memory
// or maps of a D-state process (their mmap lock may be held), so it neither
// hangs nor loses its file; the LWLock waiters' stacks are unwound whole.
TEST(RecordTest, FrozenFilesystemRecordsWithoutHanging) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  Scenario s("fsfreeze");
  ASSERT_TRUE(s.ok());
  const std::string file = temp_file("-frozen.pgstall");
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "-o", file, "-d", "6s"}, "record");
  ASSERT_TRUE(w.started()) << w.dump();
  EXPECT_EQ(w.wait_exit(30s), 0) << "record did not finish under a frozen filesystem\n" << w.dump();
  s.stop();
  bool lw_dwarf = false;
  for (const auto& st : w.of_type("stall")) {
    const auto& d = st["detail"];
    if (st.value("state", "") == "D")
      EXPECT_NE(d.value("stack_unwind", "dwarf"), "dwarf") << "memory of a D-state process was read: " << st.dump();
    if (st.value("kind", "") == "lwlock-wait" && d.value("stack_unwind", "") == "dwarf")
      lw_dwarf |= d["stack"].dump().find("LWLockAcquire") != std::string::npos;
  }
  EXPECT_TRUE(lw_dwarf) << "no LWLock waiter with its unwound stack\n" << w.dump();
  auto rep = run(pgstall_binary() + " report " + file);
  EXPECT_EQ(rep.status, 0) << rep.err;
  EXPECT_NE(rep.out.find("lwlock-wait"), std::string::npos) << rep.out;
  unlink(file.c_str());
}
