// Detectors on synthetic snapshot streams: each kind is flagged when it should
// be, not before its threshold, and never for the "never a stall" cases.
#include <gtest/gtest.h>

#include "detect/detector.h"
#include "model/syscalls.h"

using namespace pgstall;
using detect::Event;
using detect::Kind;
using detect::Snapshot;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint64_t kT0 = 1000 * kSec;  // monotonic clocks do not start at 0

model::ProcessTitle client(const std::string& cmd, model::ClientState st, bool waiting = false) {
  model::ProcessTitle t;
  t.type = model::BackendType::ClientBackend;
  t.user = "app";
  t.database = "shop";
  t.client = "[local]";
  t.command = cmd;
  t.state = st;
  t.waiting = waiting;
  t.raw = "postgres: app shop [local] " + cmd + (waiting ? " waiting" : "");
  return t;
}

Snapshot sleeping_in(int pid, const char* syscall, uint64_t since, char state = 'S') {
  Snapshot s;
  s.pid = pid;
  s.title = client("idle", model::ClientState::Idle);
  s.in_syscall = true;
  s.sc_nr = model::syscall_number(syscall);
  s.sc_start_ns = since;
  s.on_cpu = false;
  s.offcpu_since_ns = since;
  s.offcpu_state = state;
  return s;
}

// Runs the engine from t0 to t1 in 100 ms ticks; `make` builds the snapshots
// at each tick. Returns every event.
template <typename F>
std::vector<Event> run(detect::Engine& e, uint64_t t0, uint64_t t1, F make) {
  std::vector<Event> all;
  for (uint64_t t = t0; t <= t1; t += kSec / 10) {
    auto ev = e.update(t, make(t));
    all.insert(all.end(), ev.begin(), ev.end());
  }
  return all;
}

std::vector<Event> starts(const std::vector<Event>& ev, Kind k) {
  std::vector<Event> out;
  for (const auto& e : ev)
    if (e.type == Event::Type::Start && e.stall.kind == k) out.push_back(e);
  return out;
}

detect::Window loop_window(uint64_t start, uint32_t total, uint32_t repeats) {
  detect::Window w;
  w.start_ns = start;
  w.end_ns = start + kSec;
  w.total = total;
  w.repeats = repeats;
  w.mix = {{model::syscall_number("lseek"), total / 2, 8192, total / 2 - 1},
           {model::syscall_number("read"), total - total / 2, 0, total - total / 2 - 1}};
  return w;
}

}  // namespace

TEST(LockSleep, FlaggedAtThresholdWithHolderCandidate) {
  detect::Engine e;
  const int waiter = 4242, holder = 4100;
  uint64_t wait_start = kT0;
  auto ev = run(e, kT0, kT0 + 7 * kSec, [&](uint64_t t) {
    Snapshot w = sleeping_in(waiter, "epoll_wait", wait_start + kSec);  // re-slept after deadlock_timeout
    w.title = client("UPDATE", model::ClientState::Active, true);
    Snapshot h = sleeping_in(holder, "epoll_wait", kT0 - 340 * kSec);
    h.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    (void)t;
    return std::vector<Snapshot>{w, h};
  });
  auto s = starts(ev, Kind::LockSleep);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, waiter);
  EXPECT_NEAR(s[0].duration_s, 5.0, 0.11);
  ASSERT_EQ(s[0].stall.detail["holder_candidates"].size(), 1u);
  EXPECT_EQ(s[0].stall.detail["holder_candidates"][0]["pid"], holder);
  // The holder has been idle since its poll began, long before we looked.
  EXPECT_GT(s[0].stall.detail["holder_candidates"][0]["idle_s"].get<double>(), 340.0);
  EXPECT_NE(s[0].stall.summary.find("pid 4100 (idle in transaction"), std::string::npos);
  // Only the waiter is flagged: idle in transaction is a holder, not a stall.
  for (const auto& x : ev) EXPECT_NE(x.stall.pid, holder);
}

// Holders read from shared memory: named in the summary with the mode they
// hold, followed into a chain, and a cycle called one.
model::LockWaitRead shm_wait(uint32_t type_id, const char* type, uint32_t f0, int mode,
                             std::vector<model::LockHolder> blockers) {
  model::LockWaitRead r;
  r.waiting = true;
  r.tag.type_id = type_id;
  r.tag.type = type;
  r.tag.field = {f0, 0, 0, 0};
  r.tag.mode = mode;
  r.blockers = std::move(blockers);
  return r;
}

TEST(LockSleep, HoldersFromSharedMemoryMakeAChain) {
  detect::Engine e;
  const int holder = 4100, w1 = 4101, w2 = 4102;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    Snapshot a = sleeping_in(w1, "epoll_wait", kT0);
    a.title = client("UPDATE", model::ClientState::Active, true);
    a.shm_lock = shm_wait(5, "transactionid", 735, 5, {{holder, 1u << 7}});
    Snapshot b = sleeping_in(w2, "epoll_wait", kT0);
    b.title = client("UPDATE", model::ClientState::Active, true);
    b.shm_lock = shm_wait(4, "tuple", 16384, 7, {{w1, 1u << 7}});
    Snapshot h = sleeping_in(holder, "epoll_wait", kT0 - 60 * kSec);
    h.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    return std::vector<Snapshot>{a, b, h};
  });
  auto s = starts(ev, Kind::LockSleep);
  ASSERT_EQ(s.size(), 2u);
  for (const auto& x : s) {
    const auto& d = x.stall.detail;
    EXPECT_EQ(d["lock"]["source"], "shared_memory") << d.dump();
    EXPECT_EQ(d["blocked_by"]["source"], "shared_memory") << d.dump();
    if (x.stall.pid == w1) {
      EXPECT_EQ(d["lock"]["text"], "transactionid 735 ShareLock") << d.dump();
      EXPECT_EQ(d["blocked_by"]["holders"][0]["pid"], holder);
      EXPECT_EQ(d["blocked_by"]["holders"][0]["holds"], "ExclusiveLock");
      EXPECT_EQ(d["blocked_by"]["holders"][0]["state"], "idle in transaction");
      EXPECT_EQ(d["blocked_by"]["chain"], nlohmann::json({w1, holder}));
      EXPECT_NE(x.stall.summary.find("blocked by pid 4100 (ExclusiveLock, idle in transaction 6"), std::string::npos)
          << x.stall.summary;
      EXPECT_EQ(x.stall.summary.find("chain"), std::string::npos) << x.stall.summary;
    } else {
      EXPECT_EQ(x.stall.pid, w2);
      EXPECT_EQ(d["blocked_by"]["chain"], nlohmann::json({w2, w1, holder}));
      EXPECT_NE(x.stall.summary.find("itself waiting for transactionid 735"), std::string::npos) << x.stall.summary;
      EXPECT_NE(x.stall.summary.find("chain 4102 -> 4101 -> 4100"), std::string::npos) << x.stall.summary;
      EXPECT_EQ(x.stall.summary.find("cycle"), std::string::npos) << x.stall.summary;
    }
  }
}

TEST(LockSleep, ACycleOfHoldersIsCalledADeadlockNotYetBroken) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    Snapshot a = sleeping_in(1, "epoll_wait", kT0);
    a.title = client("UPDATE", model::ClientState::Active, true);
    a.shm_lock = shm_wait(5, "transactionid", 700, 5, {{2, 1u << 7}});
    Snapshot b = sleeping_in(2, "epoll_wait", kT0);
    b.title = client("UPDATE", model::ClientState::Active, true);
    b.shm_lock = shm_wait(5, "transactionid", 701, 5, {{1, 1u << 7}});
    return std::vector<Snapshot>{a, b};
  });
  auto s = starts(ev, Kind::LockSleep);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].stall.detail["blocked_by"]["chain"], nlohmann::json({1, 2, 1}));
  EXPECT_NE(s[0].stall.summary.find("chain 1 -> 2 -> 1 (a cycle"), std::string::npos) << s[0].stall.summary;
}

TEST(LockSleep, NotBeforeThresholdAndEndsWithWaker) {
  detect::Engine e;
  bool waiting = true;
  auto make = [&](uint64_t) {
    Snapshot w = sleeping_in(7, "epoll_wait", kT0);
    w.title = client("UPDATE", model::ClientState::Active, waiting);
    w.last_waker_pid = 99;
    return std::vector<Snapshot>{w};
  };
  auto ev = run(e, kT0, kT0 + 4 * kSec + kSec / 2, make);
  EXPECT_TRUE(starts(ev, Kind::LockSleep).empty());
  ev = run(e, kT0 + 46 * kSec / 10, kT0 + 6 * kSec, make);
  EXPECT_EQ(starts(ev, Kind::LockSleep).size(), 1u);
  waiting = false;
  ev = e.update(kT0 + 7 * kSec, make(0));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, Event::Type::End);
  EXPECT_EQ(ev[0].woken_by, 99u);
  EXPECT_NEAR(ev[0].duration_s, 7.0, 0.01);
}

TEST(LockSleep, EndNamesTheWakerOfTheLongSleepNotALaterPoke) {
  detect::Engine e;
  Snapshot w = sleeping_in(7, "epoll_wait", kT0);
  w.title = client("UPDATE", model::ClientState::Active, true);
  e.update(kT0, {w});
  e.update(kT0 + 6 * kSec, {w});
  ASSERT_EQ(e.active().size(), 1u);
  w.title = client("idle", model::ClientState::Idle);
  w.long_sleep_end_ns = kT0 + 6 * kSec + kSec / 20;  // the holder committed
  w.long_sleep_waker_pid = 4100;
  w.last_waker_pid = 555;  // the client's next query woke it again since
  auto ev = e.update(kT0 + 6 * kSec + kSec / 10, {w});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].woken_by, 4100u);
}

TEST(LockSleep, SeededWaitIsALowerBound) {
  detect::Engine e;
  Snapshot w = sleeping_in(7, "epoll_wait", kT0 - 30 * kSec);
  w.title = client("UPDATE", model::ClientState::Active, true);
  w.lower_bound = true;
  auto ev = e.update(kT0, {w});
  auto s = starts(ev, Kind::LockSleep);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].stall.lower_bound);
  EXPECT_NEAR(s[0].duration_s, 30.0, 0.01);
}

TEST(NeverAStall, IdleClientPgSleepAndNaps) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 60 * kSec, [&](uint64_t) {
    Snapshot idle = sleeping_in(1, "epoll_wait", kT0 - 3600 * kSec);
    Snapshot tx = sleeping_in(2, "epoll_wait", kT0 - 600 * kSec);
    tx.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    Snapshot sleep = sleeping_in(3, "epoll_wait", kT0);  // pg_sleep waits on its latch
    sleep.title = client("SELECT", model::ClientState::Active);
    Snapshot nap = sleeping_in(4, "clock_nanosleep", kT0 - 100 * kSec);
    nap.title.type = model::BackendType::WalWriter;
    Snapshot ckpt = sleeping_in(5, "epoll_wait", kT0 - 200 * kSec);
    ckpt.title.type = model::BackendType::Checkpointer;
    return std::vector<Snapshot>{idle, tx, sleep, nap, ckpt};
  });
  EXPECT_TRUE(ev.empty()) << ev.size() << " events, first: " << (ev.empty() ? "" : ev[0].stall.summary);
}

TEST(LwlockWait, FutexSleepOverOneSecond) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 2 * kSec, [&](uint64_t) {
    return std::vector<Snapshot>{sleeping_in(11, "futex", kT0), sleeping_in(12, "futex", kT0 + 15 * kSec / 10)};
  });
  auto s = starts(ev, Kind::LwlockWait);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, 11);
  EXPECT_EQ(s[0].stall.syscall, "futex");
  EXPECT_NEAR(s[0].duration_s, 1.0, 0.11);
}

TEST(IoWait, FileSyscallInDStateNamesTheFile) {
  detect::Engine e;
  Snapshot s = sleeping_in(77, "pwrite64", kT0, 'D');
  s.sc_fd_path = "pg_wal/000000010000000000000003 (WAL segment)";
  auto ev = e.update(kT0 + 12 * kSec / 10, {s});
  auto st = starts(ev, Kind::IoWait);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].stall.state, 'D');
  EXPECT_EQ(st[0].stall.detail["file"], s.sc_fd_path);
  EXPECT_NE(st[0].stall.summary.find("pwrite64(pg_wal/000000010000000000000003"), std::string::npos);
  EXPECT_NE(st[0].stall.summary.find("in D state"), std::string::npos);
}

TEST(IoWait, NotBelowThresholdNorOnSocketsOrPipes) {
  detect::Engine e;
  Snapshot quick = sleeping_in(1, "fdatasync", kT0 + kSec / 2, 'D');
  Snapshot sock = sleeping_in(2, "read", kT0 - 100 * kSec);
  sock.sc_fd_path = "socket:[12345]";
  Snapshot pipe = sleeping_in(3, "read", kT0 - 100 * kSec);
  pipe.sc_fd_path = "pipe:[777]";
  auto ev = e.update(kT0 + kSec, {quick, sock, pipe});
  EXPECT_TRUE(ev.empty());
}

TEST(IoWait, DStateOutsideASyscall) {
  detect::Engine e;
  Snapshot s;
  s.pid = 5;
  s.on_cpu = false;
  s.offcpu_state = 'D';
  s.offcpu_since_ns = kT0;
  auto ev = e.update(kT0 + 2 * kSec, {s});
  auto st = starts(ev, Kind::IoWait);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_NE(st[0].stall.summary.find("D state"), std::string::npos);
}

TEST(HotLoop, RepeatingSyscallsForThreeSeconds) {
  detect::Engine e;
  std::vector<Event> ev;
  for (int i = 0; i < 4; ++i) {
    Snapshot s;
    s.pid = 900;
    s.on_cpu = true;
    s.completed_window = loop_window(kT0 + i * kSec, 18400, 18000);
    auto got = e.update(kT0 + (i + 1) * kSec + kSec / 10, {s});
    if (i < 2) EXPECT_TRUE(got.empty()) << "flagged after " << i + 1 << " windows";
    ev.insert(ev.end(), got.begin(), got.end());
  }
  auto st = starts(ev, Kind::HotLoop);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].stall.detail["rate_per_s"], 18400);
  EXPECT_NE(st[0].stall.summary.find("lseek 50%"), std::string::npos);
  EXPECT_NE(st[0].stall.summary.find("read 50%"), std::string::npos);
  // A window with progress ends it.
  Snapshot s;
  s.pid = 900;
  s.completed_window = loop_window(kT0 + 4 * kSec, 18400, 100);
  auto end = e.update(kT0 + 5 * kSec + kSec / 10, {s});
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].type, Event::Type::End);
}

TEST(HotLoop, ProgressIsNotALoop) {
  detect::Thresholds t;
  // A sequential scan: fast, one syscall, but every call reads a new offset.
  auto scan = loop_window(kT0, 30000, 20);
  scan.mix = {{model::syscall_number("pread64"), 30000, 8192, 29999}};
  auto v = detect::judge_loop_window(scan, t);
  EXPECT_FALSE(v.looping);
  EXPECT_NE(v.why_not.find("repeated"), std::string::npos);
  // A backend answering its client.
  auto busy = loop_window(kT0, 20000, 19000);
  busy.client_io = 9000;
  EXPECT_FALSE(detect::judge_loop_window(busy, t).looping);
  // Issuing block I/O.
  auto io = loop_window(kT0, 20000, 19000);
  io.block_issued = 40;
  EXPECT_FALSE(detect::judge_loop_window(io, t).looping);
  // Too slow.
  EXPECT_FALSE(detect::judge_loop_window(loop_window(kT0, 1000, 999), t).looping);
  // Spread over many syscalls.
  auto spread = loop_window(kT0, 10000, 9900);
  spread.mix.clear();
  for (int i = 0; i < 6; ++i) spread.mix.push_back({i, 1000, 0, 999});
  spread.other = 4000;
  EXPECT_FALSE(detect::judge_loop_window(spread, t).looping);
  // The same error over and over is a loop even with changing buffers.
  auto eagain = loop_window(kT0, 20000, 10);
  eagain.mix = {{model::syscall_number("recvfrom"), 20000, -11, 19999}};
  EXPECT_TRUE(detect::judge_loop_window(eagain, t).looping);
}

namespace {
// A backend on CPU 95 % of the time since kT0; syscalls not counted yet.
Snapshot busy_at(uint64_t t) {
  Snapshot busy;
  busy.pid = 31;
  busy.title = client("SELECT", model::ClientState::Active);
  busy.on_cpu = true;
  busy.cpu_ns = (t - kT0) * 95 / 100;
  return busy;
}
}  // namespace

TEST(CpuBound, BusyWithFewSyscallsForTenSeconds) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 12 * kSec, [&](uint64_t t) {
    Snapshot busy = busy_at(t);
    busy.nr_syscalls = (t - kT0) / kSec * 3;
    busy.syscalls_counted_since_ns = kT0;
    Snapshot chatty = busy;  // as busy, but talking to its client all the time
    chatty.pid = 32;
    chatty.nr_syscalls = (t - kT0) / kSec * 20000;
    return std::vector<Snapshot>{busy, chatty};
  });
  auto st = starts(ev, Kind::CpuBound);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].stall.pid, 31);
  EXPECT_GE(st[0].duration_s, 10.0);
  EXPECT_LE(st[0].duration_s, 11.2);
  EXPECT_NEAR(st[0].stall.detail["cpu_share"].get<double>(), 0.95, 0.02);
}

// Busy on CPU, but nobody counted its syscalls: it may as well be a hot loop.
TEST(CpuBound, NotWithoutSyscallCounts) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 15 * kSec, [&](uint64_t t) { return std::vector<Snapshot>{busy_at(t)}; });
  EXPECT_TRUE(starts(ev, Kind::CpuBound).empty());
}

// Counting begins mid-run (the syscall tracepoints attach when the thread
// turns busy): the clock starts where counting began, not earlier, not later.
TEST(CpuBound, ClockStartsWhenCountingBegins) {
  detect::Engine e;
  const uint64_t counted_from = kT0 + 3 * kSec + kSec / 2;
  auto ev = run(e, kT0, kT0 + 16 * kSec, [&](uint64_t t) {
    Snapshot busy = busy_at(t);
    if (t >= counted_from) {
      busy.syscalls_counted_since_ns = counted_from;
      busy.nr_syscalls = (t - counted_from) / kSec * 2;
    }
    return std::vector<Snapshot>{busy};
  });
  auto st = starts(ev, Kind::CpuBound);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_GE(st[0].stall.since_ns, counted_from);
  EXPECT_LE(st[0].stall.since_ns, counted_from + kSec / 5);
  EXPECT_NEAR(st[0].duration_s, 10.0, 0.15);
}

TEST(Engine, ExitEndsItsStalls) {
  detect::Engine e;
  e.update(kT0 + 2 * kSec, {sleeping_in(11, "futex", kT0)});
  ASSERT_EQ(e.active().size(), 1u);
  auto ev = e.update(kT0 + 3 * kSec, {});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, Event::Type::End);
  EXPECT_TRUE(ev[0].exited);
  EXPECT_TRUE(e.active().empty());
}

// The waiter is woken, finishes and exits between two snapshots: its last
// words still say who woke it.
TEST(Engine, ExitedProcessEndsItsStallWithItsWaker) {
  detect::Engine e;
  Snapshot waiting = sleeping_in(11, "epoll_wait", kT0);
  waiting.title = client("UPDATE", model::ClientState::Active, true);
  run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) { return std::vector<Snapshot>{waiting}; });
  ASSERT_EQ(e.active().size(), 1u);
  Snapshot last;
  last.pid = 11;
  last.exited = true;
  last.long_sleep_end_ns = kT0 + 6 * kSec + kSec / 20;
  last.long_sleep_waker_pid = 4100;
  auto ev = e.update(kT0 + 6 * kSec + kSec / 10, {last});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, Event::Type::End);
  EXPECT_EQ(ev[0].woken_by, 4100u);
  EXPECT_TRUE(ev[0].exited);
  EXPECT_TRUE(e.active().empty());
  // Delivered once: nothing more, no history kept for it.
  EXPECT_TRUE(e.update(kT0 + 7 * kSec, {}).empty());
}

TEST(Engine, ThresholdsAreSettings) {
  detect::Thresholds t;
  t.lwlock_wait_s = 5;
  detect::Engine e(t);
  EXPECT_TRUE(e.update(kT0 + 2 * kSec, {sleeping_in(11, "futex", kT0)}).empty());
  EXPECT_EQ(e.update(kT0 + 6 * kSec, {sleeping_in(11, "futex", kT0)}).size(), 1u);
}

TEST(DescribeMix, SharesAndRepeatedReturns) {
  auto w = loop_window(kT0, 1000, 990);
  EXPECT_EQ(detect::describe_mix(w), "lseek 50% (ret 8192), read 50% (ret 0)");
}

TEST(Thousands, Groups) {
  EXPECT_EQ(detect::thousands(18400), "18,400");
  EXPECT_EQ(detect::thousands(999), "999");
  EXPECT_EQ(detect::thousands(1234567.4), "1,234,567");
  EXPECT_EQ(detect::thousands(0), "0");
  EXPECT_EQ(detect::thousands(-1000), "-1,000");
}

namespace {

// A process in pg_usleep(10 ms) again and again: at each 100 ms look it is
// in a fresh pselect6 with no fds, having slept ~10 more times.
Snapshot usleeping(int pid, uint64_t t, uint64_t t0, const char* syscall = "pselect6", uint64_t nfds = 0,
                   uint64_t sleeps_per_s = 100) {
  Snapshot s = sleeping_in(pid, syscall, t - 5'000'000);
  s.title.type = model::BackendType::Checkpointer;
  s.sc_args[0] = nfds;
  s.nr_sleeps = (t - t0) * sleeps_per_s / kSec;
  return s;
}

// Timeout:VacuumDelay in PostgreSQL 15, found through the decoder.
uint32_t vacuum_delay_info() {
  for (uint32_t ev = 0; ev < 64; ++ev) {
    auto w = model::decode_wait_event(0x09000000 | ev, 15);
    if (w && w->type == "Timeout" && w->name == "VacuumDelay") return 0x09000000 | ev;
  }
  ADD_FAILURE() << "no Timeout:VacuumDelay in the PostgreSQL 15 table";
  return 0;
}

}  // namespace

TEST(DelayLoop, PollingInPgUsleepIsFlaggedWithItsCheckpoint) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 7 * kSec, [&](uint64_t t) {
    Snapshot s = usleeping(77, t, kT0);
    s.checkpoint_phase = "starting";
    return std::vector<Snapshot>{s};
  });
  auto s = starts(ev, Kind::DelayLoop);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, 77);
  EXPECT_NEAR(s[0].duration_s, 5.0, 0.11);
  EXPECT_NEAR(s[0].stall.detail["sleeps_per_s"].get<double>(), 100, 2);
  EXPECT_NE(s[0].stall.summary.find("pselect6"), std::string::npos) << s[0].stall.summary;
  EXPECT_NE(s[0].stall.summary.find("delayChkptFlags"), std::string::npos) << s[0].stall.summary;
  // Nothing else is made of it.
  for (const auto& x : ev) EXPECT_EQ(x.stall.kind, Kind::DelayLoop);
  // It ends when it stops polling; the timer's waker is not named.
  auto end = e.update(kT0 + 8 * kSec, {[&] {
                        Snapshot s = sleeping_in(77, "epoll_wait", kT0 + 8 * kSec - 1000);
                        s.last_waker_pid = 22;
                        return s;
                      }()});
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].type, Event::Type::End);
  EXPECT_EQ(end[0].woken_by, 0u);
}

TEST(DelayLoop, BriefRunsBetweenDelaysDoNotEndIt) {
  detect::Engine e;
  int tick = 0;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t t) {
    Snapshot s = usleeping(77, t, kT0);
    if (++tick % 4 == 0) {  // caught between two delays now and then
      s.on_cpu = true;
      s.in_syscall = false;
    }
    return std::vector<Snapshot>{s};
  });
  EXPECT_EQ(starts(ev, Kind::DelayLoop).size(), 1u);
}

TEST(DelayLoop, NotForHealthyDelaysAndWaits) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 8 * kSec, [&](uint64_t t) {
    // Autovacuum's cost delay says so in its wait event: healthy.
    Snapshot vac = usleeping(1, t, kT0);
    vac.wait_event_info = vacuum_delay_info();
    vac.pg_major = 15;
    // The postmaster's select has fds: it waits for connections.
    Snapshot pm = usleeping(2, t, kT0, "pselect6", 5);
    // One long nap is not a loop.
    Snapshot nap = usleeping(3, t, kT0, "nanosleep", 0, 0);
    nap.sc_start_ns = kT0;
    // A latch wait (epoll) that times out often: walwriter-style.
    Snapshot latch = usleeping(4, t, kT0, "epoll_wait");
    return std::vector<Snapshot>{vac, pm, nap, latch};
  });
  for (const auto& x : ev) ADD_FAILURE() << "flagged: " << x.stall.pid << " " << x.stall.summary;
}
