// A pid reused by another process between two snapshots: the new process
// inherits nothing of the old one — no stall, no detector state, no clock,
// no rate. Identity is (pid, start time).
#include <gtest/gtest.h>

#include <vector>

#include "detect/fixtures.h"
#include "enrich/annotate.h"
#include "output/rows.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

namespace {

constexpr int kPid = 4242;
constexpr uint64_t kOld = 1'000, kNew = 9'000;  // start times, clock ticks since boot

model::Snapshot lock_waiter(uint64_t start_ticks, uint64_t since) {
  model::Snapshot s = sleeping_in(kPid, "epoll_wait", since);
  s.start_ticks = start_ticks;
  s.title = client("UPDATE", model::ClientState::Active, true);
  return s;
}

model::Snapshot exited(uint64_t start_ticks, const model::ProcessTitle& title) {
  model::Snapshot s;
  s.pid = kPid;
  s.start_ticks = start_ticks;
  s.exited = true;
  s.title = title;
  return s;
}

std::vector<Event> of_kind(const std::vector<Event>& ev, Event::Type type) {
  std::vector<Event> out;
  for (const auto& e : ev)
    if (e.type == type && e.stall.kind == "lock-sleep") out.push_back(e);
  return out;
}

}  // namespace

// The old waiter exits and a new backend with its pid waits on a lock in
// the same tick (the ring's exit and fork records drained together): the
// old stall ends as exited, the new wait is timed from its own start and
// flagged only after its own threshold.
TEST(PidReuse, ExitAndNewProcessInOneTickInheritNothing) {
  detect::Engine e;
  run(e, kT0, kT0 + 8 * kSec, [&](uint64_t) { return std::vector<model::Snapshot>{lock_waiter(kOld, kT0)}; });
  ASSERT_EQ(e.active().size(), 1u);
  ASSERT_EQ(e.active()[0].since_ns, kT0);

  const uint64_t t1 = kT0 + 8 * kSec + kSec / 10;
  auto ev = e.update(t1, {lock_waiter(kNew, t1), exited(kOld, client("UPDATE", model::ClientState::Active, true))});
  auto ends = of_kind(ev, Event::Type::End);
  ASSERT_EQ(ends.size(), 1u) << "the old process's stall ends";
  EXPECT_TRUE(ends[0].exited);
  EXPECT_EQ(ends[0].stall.since_ns, kT0);
  EXPECT_TRUE(of_kind(ev, Event::Type::Start).empty()) << "the new one has not waited 5 s";
  EXPECT_TRUE(e.active().empty());

  // Its own wait, from t1: flagged at t1 + 5 s, not before, since t1.
  auto later = run(e, t1 + kSec / 10, t1 + 7 * kSec, [&](uint64_t) {
    return std::vector<model::Snapshot>{lock_waiter(kNew, t1)};
  });
  auto starts = of_kind(later, Event::Type::Start);
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].stall.since_ns, t1);
  EXPECT_GE(starts[0].duration_s, 5.0);
  EXPECT_LT(starts[0].duration_s, 5.2);
}

// The old process's exit was never seen (its ring record lost), only a new
// start time under the same pid: the same outcome.
TEST(PidReuse, StartTimeChangeWithoutExitEndsTheOldStall) {
  detect::Engine e;
  run(e, kT0, kT0 + 8 * kSec, [&](uint64_t) { return std::vector<model::Snapshot>{lock_waiter(kOld, kT0)}; });
  ASSERT_EQ(e.active().size(), 1u);
  const uint64_t t1 = kT0 + 9 * kSec;
  auto ev = e.update(t1, {lock_waiter(kNew, t1)});
  auto ends = of_kind(ev, Event::Type::End);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_TRUE(ends[0].exited);
  EXPECT_TRUE(e.active().empty());
  auto later = run(e, t1 + kSec / 10, t1 + 4 * kSec, [&](uint64_t) {
    return std::vector<model::Snapshot>{lock_waiter(kNew, t1)};
  });
  EXPECT_TRUE(later.empty()) << "4 s into its own wait: not a stall yet";
}

// The twin: the same process (same start time) is never cut in two.
TEST(PidReuse, SameStartTimeIsTheSameProcess) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 20 * kSec, [&](uint64_t) { return std::vector<model::Snapshot>{lock_waiter(kOld, kT0)}; });
  EXPECT_EQ(of_kind(ev, Event::Type::Start).size(), 1u);
  EXPECT_TRUE(of_kind(ev, Event::Type::End).empty());
}

// A session idle in transaction for an hour exits; a new one under its pid
// has been idle in transaction for a second, not an hour.
TEST(PidReuse, IdleInTransactionClockStartsAfresh) {
  enrich::Annotator a;
  auto idle_tx = [](uint64_t start_ticks) {
    model::Snapshot s;
    s.pid = kPid;
    s.start_ticks = start_ticks;
    s.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    return s;
  };
  a.observe(kT0, {idle_tx(kOld)});
  a.observe(kT0 + 3600 * kSec, {idle_tx(kOld)});
  ASSERT_NEAR(a.idle_in_transaction_s(kPid, kT0 + 3600 * kSec).value_or(0), 3600.0, 0.01);
  const uint64_t t1 = kT0 + 3601 * kSec;
  a.observe(t1, {idle_tx(kNew)});
  a.observe(t1 + kSec, {idle_tx(kNew)});
  EXPECT_NEAR(a.idle_in_transaction_s(kPid, t1 + kSec).value_or(-1), 1.0, 0.01);
}

// CPU% of the live view: a new process's CPU time is not a delta from the
// old one's (which would wrap around to an absurd rate).
TEST(PidReuse, RatesStartAfresh) {
  output::Rates r;
  model::Snapshot s;
  s.pid = kPid;
  s.start_ticks = kOld;
  s.cpu_ns = 500 * kSec;
  r.update(kT0, {s});  // the first call only starts the clock
  r.update(kT0 + kSec, {s});
  s.cpu_ns += kSec / 2;
  r.update(kT0 + 2 * kSec, {s});
  ASSERT_TRUE(r.of(kPid).has_value());
  EXPECT_NEAR(r.of(kPid)->second, 50.0, 0.1);

  s.start_ticks = kNew;  // another process: a few ms of CPU so far
  s.cpu_ns = kSec / 100;
  r.update(kT0 + 3 * kSec, {s});
  EXPECT_FALSE(r.of(kPid).has_value()) << "no rate until it has been seen for a second";
  s.cpu_ns += kSec / 10;
  r.update(kT0 + 4 * kSec, {s});
  ASSERT_TRUE(r.of(kPid).has_value());
  EXPECT_NEAR(r.of(kPid)->second, 10.0, 0.1);
}
