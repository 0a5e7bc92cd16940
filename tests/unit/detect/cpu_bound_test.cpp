// cpu-bound on synthetic snapshots: busy with few syscalls, judged only on
// intervals whose syscalls were counted.
#include <gtest/gtest.h>

#include "detect/fixtures.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

namespace {
// A backend on CPU 95 % of the time since kT0; syscalls not counted yet.
model::Snapshot busy_at(uint64_t t) {
  model::Snapshot busy;
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
    model::Snapshot busy = busy_at(t);
    busy.nr_syscalls = (t - kT0) / kSec * 3;
    busy.syscalls_counted_since_ns = kT0;
    model::Snapshot chatty = busy;  // as busy, but talking to its client all the time
    chatty.pid = 32;
    chatty.nr_syscalls = (t - kT0) / kSec * 20000;
    return std::vector<model::Snapshot>{busy, chatty};
  });
  auto st = starts(ev, "cpu-bound");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].stall.pid, 31);
  EXPECT_GE(st[0].duration_s, 10.0);
  EXPECT_LE(st[0].duration_s, 11.2);
  EXPECT_NEAR(st[0].stall.detail["cpu_share"].get<double>(), 0.95, 0.02);
}

// Busy on CPU, but nobody counted its syscalls: it may as well be a hot loop.
TEST(CpuBound, NotWithoutSyscallCounts) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 15 * kSec, [&](uint64_t t) { return std::vector<model::Snapshot>{busy_at(t)}; });
  EXPECT_TRUE(starts(ev, "cpu-bound").empty());
}

// Counting begins mid-run (the syscall tracepoints attach when the thread
// turns busy): the clock starts where counting began, not earlier, not later.
TEST(CpuBound, ClockStartsWhenCountingBegins) {
  detect::Engine e;
  const uint64_t counted_from = kT0 + 3 * kSec + kSec / 2;
  auto ev = run(e, kT0, kT0 + 16 * kSec, [&](uint64_t t) {
    model::Snapshot busy = busy_at(t);
    if (t >= counted_from) {
      busy.syscalls_counted_since_ns = counted_from;
      busy.nr_syscalls = (t - counted_from) / kSec * 2;
    }
    return std::vector<model::Snapshot>{busy};
  });
  auto st = starts(ev, "cpu-bound");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_GE(st[0].stall.since_ns, counted_from);
  EXPECT_LE(st[0].stall.since_ns, counted_from + kSec / 5);
  EXPECT_NEAR(st[0].duration_s, 10.0, 0.15);
}

// A saturated machine: the runaway query gets 45 % of a CPU and waits for
// one the rest of the time. It is as busy, and flagged, saying why.
TEST(CpuBound, BusyOnASaturatedMachineCountsTheWaitForACpu) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 12 * kSec, [&](uint64_t t) {
    model::Snapshot busy = busy_at(t);
    busy.cpu_ns = (t - kT0) * 45 / 100;
    busy.runq_ns = (t - kT0) * 50 / 100;
    busy.nr_syscalls = (t - kT0) / kSec * 3;
    busy.syscalls_counted_since_ns = kT0;
    return std::vector<model::Snapshot>{busy};
  });
  auto st = starts(ev, "cpu-bound");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_NEAR(st[0].stall.detail["runnable_share"].get<double>(), 0.5, 0.02);
  EXPECT_NE(st[0].stall.summary.find("waiting for a CPU 50% of the time (the CPUs are saturated)"), std::string::npos)
      << st[0].stall.summary;
}
