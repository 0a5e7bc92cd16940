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
