// lock-sleep on synthetic snapshots: flagged at its threshold, timed from
// when Postgres said the wait began, ended with the waker that ended it.
#include <gtest/gtest.h>

#include "detect/fixtures.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

TEST(LockSleep, NotBeforeThresholdAndEndsWithWaker) {
  detect::Engine e;
  bool waiting = true;
  auto make = [&](uint64_t) {
    model::Snapshot w = sleeping_in(7, "epoll_wait", kT0);
    w.title = client("UPDATE", model::ClientState::Active, waiting);
    w.last_waker_pid = 99;
    return std::vector<model::Snapshot>{w};
  };
  auto ev = run(e, kT0, kT0 + 4 * kSec + kSec / 2, make);
  EXPECT_TRUE(starts(ev, "lock-sleep").empty());
  ev = run(e, kT0 + 46 * kSec / 10, kT0 + 6 * kSec, make);
  EXPECT_EQ(starts(ev, "lock-sleep").size(), 1u);
  waiting = false;
  ev = e.update(kT0 + 7 * kSec, make(0));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, Event::Type::End);
  EXPECT_EQ(ev[0].woken_by, 99u);
  EXPECT_NEAR(ev[0].duration_s, 7.0, 0.01);
}

TEST(LockSleep, EndNamesTheWakerOfTheLongSleepNotALaterPoke) {
  detect::Engine e;
  model::Snapshot w = sleeping_in(7, "epoll_wait", kT0);
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
  model::Snapshot w = sleeping_in(7, "epoll_wait", kT0 - 30 * kSec);
  w.title = client("UPDATE", model::ClientState::Active, true);
  w.lower_bound = true;
  auto ev = e.update(kT0, {w});
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].stall.lower_bound);
  EXPECT_NEAR(s[0].duration_s, 30.0, 0.01);
}
