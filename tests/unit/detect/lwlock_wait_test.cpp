// lwlock-wait on synthetic snapshots.
#include <gtest/gtest.h>

#include "detect/fixtures.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

TEST(LwlockWait, FutexSleepOverOneSecond) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 2 * kSec, [&](uint64_t) {
    return std::vector<model::Snapshot>{sleeping_in(11, "futex", kT0), sleeping_in(12, "futex", kT0 + 15 * kSec / 10)};
  });
  auto s = starts(ev, "lwlock-wait");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, 11);
  EXPECT_EQ(s[0].stall.syscall, "futex");
  EXPECT_NEAR(s[0].duration_s, 1.0, 0.11);
}
