// When the costly probes are attached and detached, decided from synthetic
// snapshots: busy without sleeping attaches the syscall tracepoints, a
// backend answering its client does not; a long LWLock wait attaches the
// LWLock probes; both detach 10 s after the last reason.
#include <gtest/gtest.h>

#include "capture/steering.h"

using namespace pgstall;
using capture::Steer;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull, kT0 = 1000 * kSec;

model::Snapshot proc(int pid, uint64_t cpu_ns, uint64_t sleeps) {
  model::Snapshot s;
  s.pid = pid;
  s.on_cpu = true;
  s.cpu_ns = cpu_ns;
  s.nr_sleeps = sleeps;
  return s;
}

// Every 100 ms from t0 to t1, a process on CPU `share` of the time sleeping
// `sleeps_per_s` times a second; the last decision that was not Keep.
Steer drive(capture::SyscallSteering& st, uint64_t t0, uint64_t t1, double share, uint64_t sleeps_per_s,
            bool& attached) {
  Steer last = Steer::Keep;
  for (uint64_t t = t0; t <= t1; t += kSec / 10) {
    auto d = st.decide(t, {proc(7, static_cast<uint64_t>((t - kT0) * share), (t - kT0) * sleeps_per_s / kSec)},
                       attached);
    if (d == Steer::Attach) attached = true;
    if (d == Steer::Detach) attached = false;
    if (d != Steer::Keep) last = d;
  }
  return last;
}

}  // namespace

TEST(SyscallSteering, BusyWithoutSleepingAttachesThenLingers) {
  capture::SyscallSteering st;
  bool attached = false;
  EXPECT_EQ(drive(st, kT0, kT0 + kSec, 0.95, 0, attached), Steer::Attach);
  EXPECT_TRUE(attached);
  // Idle again: still attached 9 s later, detached after 10 s.
  EXPECT_EQ(drive(st, kT0 + kSec + kSec / 10, kT0 + 10 * kSec, 0.0, 0, attached), Steer::Keep);
  EXPECT_TRUE(attached);
  EXPECT_EQ(drive(st, kT0 + 10 * kSec + kSec / 10, kT0 + 12 * kSec, 0.0, 0, attached), Steer::Detach);
  EXPECT_FALSE(attached);
}

TEST(SyscallSteering, ABackendServingItsClientIsNotBusy) {
  bool attached = false;
  capture::SyscallSteering serving, light;
  EXPECT_EQ(drive(serving, kT0, kT0 + 5 * kSec, 0.95, 5000, attached), Steer::Keep);  // sleeps between messages
  EXPECT_EQ(drive(light, kT0, kT0 + 5 * kSec, 0.3, 0, attached), Steer::Keep);        // not busy enough
  EXPECT_FALSE(attached);
}

// A backend woken thousands of times a second without switching out to
// sleep (the message came between its deciding to wait and its sleeping)
// is waiting, not looping.
TEST(SyscallSteering, ABackendWokenBeforeItSleepsIsNotBusy) {
  capture::SyscallSteering st;
  Steer last = Steer::Keep;
  for (uint64_t t = kT0; t <= kT0 + 5 * kSec; t += kSec / 10) {
    auto s = proc(7, static_cast<uint64_t>((t - kT0) * 0.85), (t - kT0) * 60 / kSec);
    s.nr_wakeups = (t - kT0) * 8000 / kSec;
    if (auto d = st.decide(t, {s}, false); d != Steer::Keep) last = d;
  }
  EXPECT_EQ(last, Steer::Keep);
  // The same CPU share, neither sleeping nor woken: a loop.
  capture::SyscallSteering loop;
  bool attached = false;
  EXPECT_EQ(drive(loop, kT0, kT0 + kSec, 0.85, 60, attached), Steer::Attach);
  EXPECT_EQ(loop.last_busy().pid, 7);
  EXPECT_NEAR(loop.last_busy().share, 0.85, 0.01);
}

// On a saturated machine a busy process gets less CPU; waiting for one
// counts as busy: the syscall tracepoints still attach.
TEST(SyscallSteering, WaitingForACpuCountsAsBusy) {
  capture::SyscallSteering st;
  Steer last = Steer::Keep;
  for (uint64_t t = kT0; t <= kT0 + kSec; t += kSec / 10) {
    model::Snapshot s = proc(7, (t - kT0) * 35 / 100, 0);
    s.runq_ns = (t - kT0) * 40 / 100;
    if (auto d = st.decide(t, {s}, false); d != Steer::Keep) last = d;
  }
  EXPECT_EQ(last, Steer::Attach);
}

// Full-speed pgbench -S here: 98 % on CPU, 34 sleeps and wake-ups a second,
// thousands of statements a second. Its query_start moves: it makes
// progress, and is not what the syscall tracepoints are for. The same
// process inside one statement (query_start still) is a loop and counts; so
// does one whose query_start cannot be read, and one read only now and then.
TEST(SyscallSteering, ABackendRunningNewStatementsIsNotBusy) {
  const auto run = [](auto activity) {
    capture::SyscallSteering st;
    Steer last = Steer::Keep;
    for (uint64_t t = kT0; t <= kT0 + 5 * kSec; t += kSec / 10) {
      auto s = proc(7, (t - kT0) * 98 / 100, (t - kT0) * 34 / kSec);
      s.nr_wakeups = s.nr_sleeps;
      s.statement_start = activity(t);
      if (auto d = st.decide(t, {s}, false); d != Steer::Keep) last = d;
    }
    return std::make_pair(last, st.progressing_skipped());
  };
  const auto serving = run([](uint64_t t) { return std::optional<int64_t>((t - kT0) / 1000); });
  EXPECT_EQ(serving.first, Steer::Keep);
  EXPECT_GT(serving.second, 0u);
  const auto one_statement = run([](uint64_t) { return std::optional<int64_t>(4242); });
  EXPECT_EQ(one_statement.first, Steer::Attach);
  EXPECT_EQ(one_statement.second, 0u);
  EXPECT_EQ(run([](uint64_t) { return std::optional<int64_t>(); }).first, Steer::Attach);
  // A new backend: its entry unreadable at its first check (not set up
  // yet), then its statements move. Never busy; seen in 5 of 11 pgbench -S
  // benchmark rounds, where this one check kept the tracepoints on 10 s.
  const auto new_backend = run([](uint64_t t) {
    return t - kT0 < kSec / 2 ? std::nullopt : std::optional<int64_t>(static_cast<int64_t>(t / 1000));
  });
  EXPECT_EQ(new_backend.first, Steer::Keep);
  EXPECT_GT(new_backend.second, 0u);
  // The same, in one statement all along: busy, one check later.
  EXPECT_EQ(run([](uint64_t t) { return t - kT0 < kSec / 2 ? std::nullopt : std::optional<int64_t>(4242); }).first,
            Steer::Attach);
  // Read at one check, not at the next: nothing to compare, counts.
  EXPECT_EQ(run([](uint64_t t) {
              return ((t - kT0) / (kSec / 10)) % 2 ? std::optional<int64_t>(static_cast<int64_t>(t / 1000))
                                                  : std::nullopt;
            }).first,
            Steer::Attach);
}

TEST(LwlockSteering, ALongLwlockWaitAttachesThenLingers) {
  capture::LwlockSteering st;
  model::Snapshot s;
  s.pid = 9;
  s.on_cpu = false;
  s.offcpu_since_ns = kT0;
  s.pg_major = 15;
  s.wait_event_info = 0x01000000 | 63;  // LWLock class; tranche 63 is WALWrite in 15
  EXPECT_EQ(st.decide(kT0 + kSec / 10, {s}, false), Steer::Keep);  // 100 ms: ordinary contention
  EXPECT_EQ(st.decide(kT0 + kSec / 4, {s}, false), Steer::Attach);
  s.wait_event_info = 0;
  EXPECT_EQ(st.decide(kT0 + 5 * kSec, {s}, true), Steer::Keep);
  EXPECT_EQ(st.decide(kT0 + 11 * kSec, {s}, true), Steer::Detach);
  // Not a wait event of the LWLock class: nothing to attach for.
  s.wait_event_info = 0x06000000;  // Client:ClientRead
  EXPECT_EQ(st.decide(kT0 + 20 * kSec, {s}, false), Steer::Keep);
}
