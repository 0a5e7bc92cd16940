// Hot loops of several syscalls against a real PostgreSQL and the real kernel:
// a PL/pgSQL loop of pg_read_file() (openat, newfstatat, lseek, read, read,
// close; no syscall above 33 %) must be flagged with its cycle, in time; COPY
// FROM a large file -- reads that all look alike but read new data, and the
// writes of a growing table -- must flag nothing. Each scenario is checked to
// have really happened (pg_stat_activity, /proc/PID/io) before pgstall's
// silence counts.
#include <filesystem>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

class LoopTest : public ClusterTest {};

// The kernel's I/O accounting of a process (/proc/PID/io: syscr, syscw,
// rchar, read_bytes, ...); empty when it is gone.
std::map<std::string, double> proc_io(int pid) {
  std::map<std::string, double> io;
  std::ifstream f("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  double v;
  while (f >> key >> v) io[key.substr(0, key.size() - 1)] = v;  // "syscr:" -> syscr
  return io;
}

// What one counter of /proc/PID/io grew by between two readings.
double grew(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
            const std::string& key) {
  auto a = before.find(key), b = after.find(key);
  return a == before.end() || b == after.end() ? 0 : b->second - a->second;
}

std::string pg_state(int pid) {
  return psql("SELECT state || ':' || coalesce(wait_event, 'on CPU') FROM pg_stat_activity WHERE pid = " +
              std::to_string(pid));
}

// The pg_read_file() loop flagged as hot-loop for its pid, with its cycle in
// order and what each call returned, within `bound_s` of the loop running.
void expect_read_loop_flagged(Watch& w, double bound_s) {
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("readloop");
  ASSERT_TRUE(s.ok());
  const int pid = s.pid("LOOP_PID");
  ASSERT_GT(pid, 0);
  // It really loops: running the DO block on CPU (no wait event), reading fast.
  EXPECT_EQ(pg_state(pid), "active:on CPU");
  auto io0 = proc_io(pid);

  auto hit = w.wait_for(is_stall("hot-loop", pid), 10s);
  ASSERT_TRUE(hit) << "the pg_read_file() loop of pid " << pid << " was not flagged\n" << w.dump();
  const double after_s = seconds_between(s.ready(), hit->at);
  EXPECT_LE(after_s, bound_s);
  const double reads_per_s = grew(io0, proc_io(pid), "syscr") / after_s;
  EXPECT_GT(reads_per_s, 5000) << "the loop made only " << reads_per_s << " reads/s: not the scenario meant";

  const auto& d = hit->json["detail"];
  const auto file_size = static_cast<int>(std::filesystem::file_size(s.kv("LOOP_FILE")));
  std::vector<std::string> names;
  for (const auto& c : d["cycle"]) names.push_back(c["syscall"]);
  EXPECT_EQ(names, (std::vector<std::string>{"openat", "newfstatat", "lseek", "read", "read", "close"})) << d.dump();
  if (names.size() == 6) {
    EXPECT_GE(d["cycle"][0]["ret"].get<int>(), 3) << "openat returns an fd";
    EXPECT_EQ(d["cycle"][1]["ret"], 0);
    EXPECT_EQ(d["cycle"][2]["ret"], 0) << "lseek to the start";
    EXPECT_EQ(d["cycle"][3]["ret"], file_size) << "the whole file";
    EXPECT_EQ(d["cycle"][4]["ret"], 0) << "end of file";
    EXPECT_EQ(d["cycle"][5]["ret"], 0);
  }
  EXPECT_GE(d["cycle_share"].get<double>(), 0.9);
  EXPECT_GE(d["rate_per_s"].get<double>(), 5000);
  EXPECT_GE(d["repeat_share"].get<double>(), 0.8);
  EXPECT_EQ(d["client_io"], 0);
  EXPECT_EQ(d["block_issued"], 0);
  const std::string summary = hit->json["summary"];
  EXPECT_NE(summary.find("cycle openat("), std::string::npos) << summary;
  EXPECT_NE(summary.find(" → close(0)"), std::string::npos) << summary;
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) EXPECT_EQ(st["pid"], pid) << "flagged besides the loop: " << st.dump();
}

// Runs pgstall over the copy scenario of `kind` for `secs`, checks the COPY
// really ran (active on CPU, the whole file read) and that it was not
// flagged; returns how fast its /proc/PID/io counters grew meanwhile (per s).
std::map<std::string, double> watch_copy(Watch& w, const std::string& kind, int secs, int& pid) {
  std::map<std::string, double> delta;
  EXPECT_TRUE(w.started()) << w.dump();
  Scenario s("copy", "PGSTALL_COPY_KIND=" + kind);
  EXPECT_TRUE(s.ok());
  pid = s.pid("COPY_PID");
  EXPECT_GT(pid, 0);
  if (pid <= 0) return delta;
  EXPECT_EQ(pg_state(pid).rfind("active:", 0), 0u) << pg_state(pid);
  auto io0 = proc_io(pid);
  w.run_for(std::chrono::seconds(secs));
  auto io1 = proc_io(pid);
  for (const auto& [k, v] : io1) delta[k] = grew(io0, io1, k) / secs;
  // The file was read, more than once over: the COPY ran the whole time.
  EXPECT_GT(delta["rchar"] * secs, std::stod(s.kv("COPY_BYTES"))) << "the COPY read less than its file";
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall"))
    EXPECT_NE(st["pid"], pid) << "the COPY (" << kind << ") was flagged: " << st.dump();
  return delta;
}

}  // namespace

TEST_F(LoopTest, ReadFileLoopFlaggedWithItsCycle) {
  Watch w(target({"--syscalls", "always"}));
  // The 3 s threshold on whole 1 s windows, the first of which starts up to
  // 1 s after the loop: flagged within the threshold + 1 s.
  expect_read_loop_flagged(w, 4.0);
}

TEST_F(LoopTest, ReadFileLoopFlaggedWhenTheBusyBackendTurnsTracingOn) {
  Watch w(target());
  // Up to 1 s more to see it busy and attach the syscall tracepoints.
  expect_read_loop_flagged(w, 6.0);
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_GT(summary[0]["syscall_tracing_s"].get<double>(), 3.0) << summary[0].dump();
}

TEST_F(LoopTest, CopyFromALargeFileIsProgressNotAHotLoop) {
  Watch w(target());
  int pid = 0;
  auto rate = watch_copy(w, "load", 10, pid);
  // Fast enough to be a loop by rate alone: reads of the file, writes of the table.
  EXPECT_GT(rate["syscr"] + rate["syscw"], 5000) << "the COPY made only " << rate["syscr"] << " reads/s and "
                                                   << rate["syscw"] << " writes/s";
  // Judged, not unseen: the busy COPY had its syscalls traced.
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_GT(summary[0]["syscall_tracing_s"].get<double>(), 5.0) << summary[0].dump();
}

// COPY ... WHERE keeping 0.1 % of the rows: almost nothing but
// read(fd, buf, 65536) = 65536, identical calls with identical results, from
// the page cache (no block I/O), no client. The rate threshold is lowered
// below its read rate, so only "a full read that nothing seeks back reads
// forward" tells it from a loop.
TEST_F(LoopTest, CopyReadsThatLookAlikeReadForward) {
  Watch w(target({"--syscalls", "always", "--hot-loop-rate", "1000"}));
  int pid = 0;
  auto rate = watch_copy(w, "filter", 10, pid);
  EXPECT_GT(rate["syscr"], 2000) << "the COPY made only " << rate["syscr"] << " reads/s";
  EXPECT_LT(rate["syscw"], rate["syscr"] * 0.05) << "more than reads: " << rate["syscw"] << " writes/s";
  EXPECT_GT(rate["rchar"] / std::max(1.0, rate["syscr"]), 60000) << "not 64 KB reads";
  // From the page cache: no block I/O to tell it from a loop. Seen here once:
  // one pass read from disk (the file's pages had left the cache); the other
  // windows were still judged on their reads alone.
  EXPECT_LT(rate["read_bytes"], rate["rchar"] * 0.1) << "the file was mostly read from disk, not the page cache";
}
