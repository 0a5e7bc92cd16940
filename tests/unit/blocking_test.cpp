// Chains of blockers from pg_blocking_pids rows.
#include <gtest/gtest.h>

#include "model/blocking.h"

using pgstall::model::BlockedBy;
using pgstall::model::blocking_chain;

TEST(Blocking, ChainsFollowFirstBlockers) {
  std::vector<BlockedBy> w = {{30, {20}, "", {}}, {20, {10, 11}, "public.t", {}}};
  EXPECT_EQ(blocking_chain(30, w), (std::vector<int>{30, 20, 10}));
  EXPECT_EQ(blocking_chain(20, w), (std::vector<int>{20, 10}));
  EXPECT_EQ(blocking_chain(10, w), (std::vector<int>{10}));  // not blocked
}

TEST(Blocking, CycleEndsWithTheRepeatedPid) {
  std::vector<BlockedBy> w = {{1, {2}, "", {}}, {2, {1}, "", {}}};
  EXPECT_EQ(blocking_chain(1, w), (std::vector<int>{1, 2, 1}));
}
