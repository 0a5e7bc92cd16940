// Load and faults: 500 pgbench clients with a few real stalls among them
// (the right pids flagged, nothing lost silently, output on time), and a
// stalled backend's pid reused by a new backend (nothing inherited).
#include <libpq-fe.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

constexpr int kClients = 500;

int max_connections() { return std::atoi(psql("SHOW max_connections").c_str()); }

// The test cluster restarted with room for the load, and restarted with its
// own configuration again on every way out (destructor).
class RoomForClients {
 public:
  explicit RoomForClients(int needed) {
    if (max_connections() >= needed) return;
    raised_ = true;
    restart("PGSTALL_MAX_CONNECTIONS=" + std::to_string(needed) + " ");
  }
  ~RoomForClients() {
    if (raised_) restart("");
  }

 private:
  static void restart(const std::string& env) {
    auto stop = run(script("pgcluster.sh") + " stop-server");
    EXPECT_EQ(stop.status, 0) << stop.err;
    auto start = run(env + script("pgcluster.sh") + " start-server");
    EXPECT_EQ(start.status, 0) << start.err;
  }
  bool raised_ = false;
};

// The usual soft limit on open files (systemd's default for services too)
// for what this process starts, restored on the way out.
class SoftFdLimit {
 public:
  explicit SoftFdLimit(rlim_t soft) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit l = saved_;
    l.rlim_cur = std::min(soft, saved_.rlim_max);
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &l), 0);
  }
  ~SoftFdLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

std::string conninfo(std::map<std::string, std::string>& env) {
  return "host=" + env["PGSTALL_PGHOST"] + " port=" + env["PGSTALL_PGPORT"] +
         " user=postgres dbname=pgstall connect_timeout=10";
}

size_t open_fds(pid_t pid) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

// A session opened every second and closed 5 s later, from this process
// (no fork): its backend's start and exit are events whose time is known
// here, so how late pgstall says them measures how responsive it is under
// the load. (A backend that lives less than one drain of the ring is gone
// before pgstall can look at it and is not announced; in a storm of stall
// inspections a drain can come seconds late here: hence 5 s.)
class Prober {
 public:
  struct Probe {
    int pid = 0;
    // Connecting began; the server answered (its backend exists: in a
    // connection storm the postmaster forks it seconds after it was asked,
    // which is the server's delay, not pgstall's); closed.
    // Its backend gone: no longer in /proc, or a zombie (the kernel's exit,
    // which pgstall sees, is done). Closing only asks it to exit: in an exit
    // storm it waits seconds for ProcArrayLock on its way out.
    Clock::time_point asked, connected, closed, gone;
  };
  explicit Prober(std::string conninfo) : conninfo_(std::move(conninfo)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Prober() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Probe> probes() {
    std::lock_guard<std::mutex> g(mu_);
    return probes_;
  }
  int failures() const { return failures_; }

 private:
  struct Open {
    PGconn* conn;
    Probe probe;
  };
  void close_older_than(std::vector<Open>& open, Clock::duration age) {
    for (auto it = open.begin(); it != open.end();) {
      if (Clock::now() - it->probe.asked < age) {
        ++it;
        continue;
      }
      PQfinish(it->conn);
      it->probe.closed = Clock::now();
      closing_.push_back(it->probe);
      it = open.erase(it);
    }
  }
  static bool gone(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return true;
    const auto paren = line.rfind(')');
    return paren == std::string::npos || line.substr(paren + 2, 1) == "Z";
  }
  // Each closed probe, once its backend is gone (looked at every 50 ms).
  void reap(Clock::time_point until) {
    do {
      for (auto it = closing_.begin(); it != closing_.end();) {
        if (!gone(it->pid)) {
          ++it;
          continue;
        }
        it->gone = Clock::now();
        std::lock_guard<std::mutex> g(mu_);
        probes_.push_back(*it);
        it = closing_.erase(it);
      }
      if (closing_.empty()) break;
      std::this_thread::sleep_for(50ms);
    } while (Clock::now() < until);
  }
  void loop() {
    std::vector<Open> open;
    while (!stop_) {
      const auto asked = Clock::now();
      const auto next = asked + 1s;
      PGconn* c = PQconnectdb(conninfo_.c_str());
      if (PQstatus(c) == CONNECTION_OK) {
        open.push_back({c, {PQbackendPID(c), asked, Clock::now(), {}}});
      } else {
        PQfinish(c);
        ++failures_;
      }
      close_older_than(open, 5s);
      reap(next);
      std::this_thread::sleep_until(next);
    }
    close_older_than(open, 0s);
    reap(Clock::now() + 15s);
  }
  std::vector<Probe> closing_;
  std::string conninfo_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  std::mutex mu_;
  std::vector<Probe> probes_;
  std::thread thread_;
};

// Runs f on another thread while the watch's output is read here (a full
// pipe would stall pgstall itself and make it look slow).
template <typename F>
auto while_reading(Watch& w, F f) {
  auto fut = std::async(std::launch::async, std::move(f));
  while (fut.wait_for(0s) != std::future_status::ready) w.run_for(200ms);
  return fut.get();
}

// The first line of `type` about `pid` (and `event` for process lines) at or
// after `from`; nullptr when none.
const Watch::Line* find_line(const Watch& w, const std::string& type, int pid, const std::string& event = "",
                             Clock::time_point from = {}) {
  for (const auto& l : w.lines()) {
    if (l.at < from || l.json.value("type", "") != type || l.json.value("pid", 0) != pid) continue;
    if (!event.empty() && l.json.value("event", "") != event) continue;
    return &l;
  }
  return nullptr;
}

// The index of the first line that arrived after `t`.
size_t index_after(const Watch& w, Clock::time_point t) {
  size_t i = 0;
  while (i < w.lines().size() && w.lines()[i].at <= t) ++i;
  return i;
}

}  // namespace

class LoadTest : public ClusterTest {};

// 500 pgbench -S clients on this 2-core machine; three row-lock waiters on a
// session idle in transaction (a table pgbench does not touch). pgstall,
// started with the soft open-files limit of a systemd service (1,024; it
// needs two descriptors per backend), must follow every backend, flag
// exactly the three waiters (lock-sleep, blocked by the holder) and nothing
// else, lose nothing silently, and say each probe session's start and exit
// within a bound while the load runs.
TEST_F(LoadTest, FiveHundredClientsAFewStallsOnlyTheRightPidsFlagged) {
  constexpr int kWaiters = 3;
  RoomForClients room(kClients + kWaiters + 30);
  ASSERT_GE(max_connections(), kClients + kWaiters + 10);
  std::unique_ptr<Watch> w;
  {
    SoftFdLimit fds(1024);
    w = std::make_unique<Watch>(target({"--lock-sleep", "3s"}));
  }
  ASSERT_TRUE(w->started()) << w->dump();
  Prober prober(conninfo(env_));
  size_t peak_fds = 0;

  const auto started = Clock::now();
  auto s = while_reading(*w, [] {
    return std::make_unique<Scenario>("load", "PGSTALL_LOAD_CLIENTS=500 PGSTALL_LOAD_RATE=1000 PGSTALL_LOAD_SECONDS=300 "
                                              "PGSTALL_LOAD_WAITERS=3 PGSTALL_SCENARIO_TIMEOUT=330");
  });
  ASSERT_TRUE(s->ok());
  std::printf("[ load     ] 500 clients connected and 3 waiters blocked after %.1f s\n",
              seconds_between(started, s->ready()));
  // The scenario happened: 500 pgbench connections, the waiters on a Lock.
  // (psql runs while the output is read: a line's arrival time is when pgstall said it.)
  const auto connected = std::atoi(while_reading(*w, [] {
                                     return psql(
                                         "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                         "'pgbench' AND backend_type = 'client backend'");
                                   }).c_str());
  ASSERT_GE(connected, kClients);
  const auto waiters = s->pids("WAITER_PIDS");
  const int holder = s->pid("HOLDER_PID");
  const auto backends = s->pids("BACKEND_PIDS");
  ASSERT_EQ(waiters.size(), static_cast<size_t>(kWaiters));
  ASSERT_EQ(backends.size(), static_cast<size_t>(kClients));
  std::string list;
  for (int p : waiters) list += (list.empty() ? "" : ",") + std::to_string(p);
  EXPECT_EQ(while_reading(*w,
                          [&] {
                            return psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                        "AND pid IN (" + list + ")");
                          }),
            std::to_string(kWaiters));

  // Each waiter flagged within its threshold plus a bound that holds here.
  for (int pid : waiters) {
    auto hit = w->wait_for(is_stall("lock-sleep", pid), 20s);
    ASSERT_TRUE(hit) << "no lock-sleep for waiter " << pid;
    EXPECT_NE(hit->json.value("summary", "").find("blocked by pid " + std::to_string(holder)), std::string::npos)
        << hit->json.dump();
    EXPECT_EQ(hit->json["detail"]["lock"].value("type", ""), "transactionid") << hit->json.dump();
    std::printf("[ load     ] waiter %d flagged %.1f s after the scenario was ready\n", pid,
                seconds_between(s->ready(), hit->at));
  }
  // The load goes on with the stalls in flight.
  for (int i = 0; i < 12; ++i) {
    w->run_for(1s);
    peak_fds = std::max(peak_fds, open_fds(w->pid()));
  }
  // From here the holder commits and 500 sessions end at once: an exit
  // storm, where any backend, the waiters and the holder too, may really
  // wait a second or more for ProcArrayLock on its way out.
  const size_t stopping = w->lines().size();
  while_reading(*w, [&] {
    s->stop();
    return 0;
  });
  for (int pid : waiters)
    EXPECT_TRUE(w->wait_for(
        [&](const Json& j) { return j.value("type", "") == "stall_end" && j.value("pid", 0) == pid; }, 15s))
        << "no stall_end for waiter " << pid;
  while_reading(*w, [&] {  // until the last probes' backends are gone
    prober.stop();
    return 0;
  });
  w->run_for(3s);  // the last probes' exits
  EXPECT_EQ(w->stop(), 0);
  const auto stopped = Clock::now();
  const auto probes = prober.probes();

  // The waiters, each once, as lock-sleep; never the holder; and no
  // pgbench backend in anything a healthy backend looks like (a client read
  // in epoll_wait is never lock-sleep or wait). On two CPUs shared with other
  // work, 500 backends starting or running do meet real short stalls the
  // kernel sees as such: a futex sleep of a second or more on LockManager
  // (lwlock-wait), a page fault waiting for the disk in D state (io-wait),
  // reads of a table from a cold page cache with the device's queue full
  // (io-slow: every pgbench backend at once after a test that dropped the
  // cache). Those are shown, must be of those kinds and must end within 10 s.
  std::multiset<int> flagged;
  int real_short = 0, at_exit = 0;
  for (size_t i = 0; i < w->lines().size(); ++i) {
    const Json& st = w->lines()[i].json;
    if (st.value("type", "") != "stall") continue;
    const int pid = st.value("pid", 0);
    const bool waiter = std::find(waiters.begin(), waiters.end(), pid) != waiters.end();
    const bool exiting = i >= stopping;
    at_exit += exiting;
    if (waiter && !exiting) {
      flagged.insert(pid);
      EXPECT_EQ(st.value("kind", ""), "lock-sleep") << st.dump();
      continue;
    }
    if (!exiting) EXPECT_NE(pid, holder) << "the holder is idle in transaction, not stalled: " << st.dump();
    const std::string kind = st.value("kind", "");
    EXPECT_TRUE(kind == "lwlock-wait" || kind == "io-wait" || kind == "io-slow") << "not a waiter: " << st.dump();
    const Watch::Line* end = nullptr;  // its own end: the first after it
    for (size_t j = i + 1; j < w->lines().size() && !end; ++j)
      if (w->lines()[j].json.value("type", "") == "stall_end" && w->lines()[j].json.value("pid", 0) == pid)
        end = &w->lines()[j];
    ASSERT_TRUE(end) << "never ended: " << st.dump();
    EXPECT_LE(end->json.value("duration_s", 99.0), 10.0) << end->json.dump();
    ++real_short;
    std::printf("[ load     ] also flagged: %s pid %d for %.1f s: %s\n", kind.c_str(), pid,
                end->json.value("duration_s", 0.0), st.value("summary", "").substr(0, 100).c_str());
  }
  for (int pid : waiters) EXPECT_EQ(flagged.count(pid), 1u) << "waiter " << pid;
  std::printf("[ load     ] %d short real stalls of other processes (lwlock-wait, io-wait, io-slow), %d of them in the exit storm\n",
              real_short, at_exit);

  // Every pgbench backend followed: its start said.
  int unseen = 0;
  for (int pid : backends)
    if (!find_line(*w, "process", pid, "backend_start")) ++unseen;
  EXPECT_EQ(unseen, 0) << unseen << " of " << backends.size() << " pgbench backends never announced";

  // Nothing lost silently: a loss counter above zero was said as it happened.
  auto summaries = w->of_type("summary");
  ASSERT_EQ(summaries.size(), 1u) << w->dump();
  const auto& counters = summaries[0]["counters"];
  ASSERT_TRUE(counters.contains("processes_untracked")) << counters.dump();
  EXPECT_EQ(counters.value("processes_untracked", 1), 0) << "out of descriptors? peak " << peak_fds;
  for (const char* loss : {"ring_drops", "untracked_children", "block_requests_unrecorded", "user_stacks_lost",
                           "stacks_lost", "stack_weights_lost", "processes_untracked"}) {
    ASSERT_TRUE(counters.contains(loss)) << loss << " missing from " << counters.dump();
    if (counters.value(loss, 0) == 0) continue;
    bool said = false;
    for (const auto& d : w->of_type("drops")) said |= d.value("counter", "") == loss;
    EXPECT_TRUE(said) << loss << " = " << counters[loss] << " but no drops line said it";
  }
  // Children gone before they could be read are counted and each one said
  // (a start and an exit marked "unread"), not left out.
  int unread_exits = 0;
  for (const auto& l : w->lines())
    unread_exits += l.json.value("event", "") == "backend_exit" && l.json.value("unread", false);
  ASSERT_TRUE(counters.contains("processes_gone_unread")) << counters.dump();
  EXPECT_EQ(unread_exits, counters.value("processes_gone_unread", -1));
  std::printf("[ load     ] pgstall held %zu descriptors at the peak (soft limit given: 1024); counters %s\n",
              peak_fds, counters.dump().c_str());

  // Responsive: each probe session's start (from when the server answered)
  // and exit said, 90 % of them within 3 s and every one within 10 s (this
  // 2-core machine is shared: other builds run at the same time as the 500
  // clients).
  ASSERT_GE(probes.size(), 20u) << "probe sessions failed: " << prober.failures();
  std::vector<double> delays;
  for (const auto& p : probes) {
    const auto* start = find_line(*w, "process", p.pid, "backend_start", p.asked);
    const auto* exit = find_line(*w, "process", p.pid, "backend_exit", p.closed);
    if (!start || !exit) {
      ADD_FAILURE() << "probe backend " << p.pid << (start ? "" : ": no backend_start")
                    << (exit ? "" : ": no backend_exit") << " (asked at +" << seconds_between(started, p.asked)
                    << " s, closed at +" << seconds_between(started, p.closed) << " s, gone at +"
                    << seconds_between(started, p.gone) << " s; pgstall stopped at +"
                    << seconds_between(started, stopped) << " s)";
      continue;
    }
    const double to_start = seconds_between(p.connected, start->at), to_exit = seconds_between(p.gone, exit->at);
    delays.push_back(std::max(to_start, to_exit));
    if (delays.back() > 3.0)
      std::printf("[ load     ] probe backend %d (asked at +%.1f s): start said %.2f s after it connected (%.2f s after "
                  "it asked), exit %.2f s after it was gone (%.2f s after it closed)\n",
                  p.pid, seconds_between(started, p.asked), to_start, seconds_between(p.asked, start->at), to_exit,
                  seconds_between(p.closed, exit->at));
  }
  ASSERT_FALSE(delays.empty());
  std::sort(delays.begin(), delays.end());
  const double p90 = delays[delays.size() * 9 / 10], worst = delays.back();
  std::printf("[ load     ] %zu probe sessions; start/exit said after %.2f s (median), %.2f s (90th), %.2f s (worst)\n",
              probes.size(), delays[delays.size() / 2], p90, worst);
  EXPECT_LE(p90, 3.0);
  EXPECT_LE(worst, 10.0);
  char keep[] = "/tmp/pgstall-load-XXXXXX";  // created new (mkstemp: O_EXCL, 0600)
  if (int fd = mkstemp(keep); fd >= 0) {
    const std::string all = w->dump();
    EXPECT_EQ(write(fd, all.data(), all.size()), static_cast<ssize_t>(all.size()));
    close(fd);
    std::printf("[ load     ] pgstall's output: %s\n", keep);
  }
}

namespace {

int pid_max() {
  std::ifstream f("/proc/sys/kernel/pid_max");
  int n = 0;
  f >> n;
  return n;
}

bool alive(int pid) {
  struct stat sb;
  return stat(("/proc/" + std::to_string(pid)).c_str(), &sb) == 0;
}

// Forks children that exit at once until the next pid the kernel hands out
// is `target` (taken now; it is handed out once freed): every pid between
// the last child and target is in use. False after two full cycles.
bool spin_to_just_before(int target, int cycle) {
  for (int i = 0; i < 2 * cycle; ++i) {
    // vfork: no page tables copied, tens of times faster than fork here.
    pid_t c = vfork();
    if (c == 0) _exit(0);
    if (c < 0) return false;
    waitpid(c, nullptr, 0);
    if (c >= target || c < target - 64) continue;
    bool gap = false;
    for (int p = c + 1; p < target && !gap; ++p) gap = !alive(p);
    if (!gap) return true;
  }
  return false;
}

}  // namespace

// A lock waiter flagged lock-sleep is terminated, and a new backend gets its
// pid at once (the pid counter is spun to just before it first: pid_max is
// small here) and waits on the same lock. The old stall ends as exited; the
// new backend is announced, inherits no stall, no wait clock, and is flagged
// only after its own threshold, timed from its own wait.
TEST_F(LoadTest, APidReusedByANewBackendInheritsNothing) {
  const int cycle = pid_max();
  ASSERT_LE(cycle, 131072) << "this test reuses a pid by cycling through kernel.pid_max (" << cycle
                           << ") pids; it needs pid_max <= 131072 to do so in bounded time";
  Watch w(target({"--lock-sleep", "2s"}));
  ASSERT_TRUE(w.started()) << w.dump();
  const std::string ci = conninfo(env_);
  for (int attempt = 1; attempt <= 4; ++attempt) {
    Scenario s("rowlock", "PGSTALL_SCENARIO_TIMEOUT=300");
    ASSERT_TRUE(s.ok());
    const int old = s.pid("WAITER_PID"), holder = s.pid("HOLDER_PID");
    ASSERT_TRUE(w.wait_for(is_stall("lock-sleep", old), 10s)) << "no lock-sleep for waiter " << old;
    const auto spin = Clock::now();
    ASSERT_TRUE(spin_to_just_before(old, cycle)) << "could not bring the pid counter next to " << old;
    std::printf("[ reuse    ] pid counter next to %d after %.1f s\n", old, seconds_between(spin, Clock::now()));
    const auto killed = Clock::now();
    ASSERT_EQ(kill(old, SIGTERM), 0);
    while (alive(old) && Clock::now() - killed < 5s) std::this_thread::sleep_for(1ms);
    ASSERT_FALSE(alive(old)) << "backend " << old << " did not exit";
    PGconn* c = PQconnectdb(ci.c_str());
    const auto connected = Clock::now();
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    const int now_pid = PQbackendPID(c);
    if (now_pid != old) {
      std::printf("[ reuse    ] attempt %d: pid %d went to another process, the new backend is %d\n", attempt, old,
                  now_pid);
      PQfinish(c);
      continue;
    }
    std::printf("[ reuse    ] attempt %d: pid %d exited and came back as a new backend %.0f ms later\n", attempt,
                old, seconds_between(killed, connected) * 1000);
    ASSERT_EQ(PQsendQuery(c, "UPDATE hot SET v = v + 1 WHERE id = 1"), 1) << PQerrorMessage(c);
    const auto sent = Clock::now();
    w.run_for(500ms);
    EXPECT_EQ(psql("SELECT wait_event_type FROM pg_stat_activity WHERE pid = " + std::to_string(old)), "Lock");

    // The old one's stall ends as exited; the new one is flagged after its
    // own 2 s, timed from its own wait, blocked by the same holder.
    auto end = w.wait_for(
        [&](const Json& j) { return j.value("type", "") == "stall_end" && j.value("pid", 0) == old; }, 5s);
    ASSERT_TRUE(end) << w.dump();
    EXPECT_TRUE(end->json.value("exited", false)) << end->json.dump();
    auto again = w.wait_for(is_stall("lock-sleep", old), 10s, index_after(w, end->at));
    ASSERT_TRUE(again) << w.dump();
    const double waited = seconds_between(sent, again->at);
    EXPECT_GE(waited, 1.5) << "flagged before its own threshold: " << again->json.dump();
    EXPECT_LE(again->json.value("duration_s", 99.0), waited + 0.5) << "timed from the old wait: " << again->json.dump();
    EXPECT_FALSE(again->json.value("lower_bound", true)) << again->json.dump();
    EXPECT_NE(again->json.value("summary", "").find("blocked by pid " + std::to_string(holder)), std::string::npos)
        << again->json.dump();
    // Announced as it went: the exit, then the new backend.
    const auto* exit = find_line(w, "process", old, "backend_exit", killed);
    const auto* start = find_line(w, "process", old, "backend_start", killed);
    ASSERT_TRUE(exit && start) << w.dump();
    EXPECT_LT(exit, start) << "backend_start before backend_exit";

    PGcancel* cancel = PQgetCancel(c);
    char err[256];
    PQcancel(cancel, err, sizeof err);
    PQfreeCancel(cancel);
    PQfinish(c);
    s.stop();
    EXPECT_EQ(w.stop(), 0);
    return;
  }
  FAIL() << "in 4 attempts another process always took the pid first (a busy machine?)";
}
