// When pgstall says it waits for a server: once per target when none runs at
// the start, once when the last postmaster of a target exits, never while
// one runs, and again only after one has run in between.
#include <gtest/gtest.h>

#include "capture/waits.h"

using pgstall::capture::TargetWaits;

TEST(TargetWaits, NothingRunningAtTheStartIsSaidOncePerTarget) {
  TargetWaits w({"/a", "/b"});
  EXPECT_FALSE(w.any());  // nothing known before the first scan
  auto began = w.update({{40, "/a"}});
  ASSERT_EQ(began.size(), 1u);
  EXPECT_EQ(began[0].target, "/b");
  EXPECT_TRUE(began[0].exited.empty());  // none ran since pgstall started
  EXPECT_TRUE(w.any());
  EXPECT_EQ(w.waiting(), std::vector<std::string>{"/b"});
  EXPECT_TRUE(w.update({{40, "/a"}}).empty());  // still waiting: not said again
  EXPECT_TRUE(w.update({{40, "/a"}, {50, "/b"}}).empty());  // it started: the process event says so
  EXPECT_FALSE(w.any());
}

TEST(TargetWaits, LastPostmasterExitingBeginsAWaitNamingIt) {
  TargetWaits w({"/a"});
  EXPECT_TRUE(w.update({{40, "/a"}}).empty());
  EXPECT_FALSE(w.any());
  auto began = w.update({});
  ASSERT_EQ(began.size(), 1u);
  EXPECT_EQ(began[0].target, "/a");
  EXPECT_EQ(began[0].exited, std::vector<int>{40});
  EXPECT_TRUE(w.update({}).empty());
  // Restarted, then gone again: a new wait, naming the new one.
  EXPECT_TRUE(w.update({{60, "/a"}}).empty());
  began = w.update({});
  ASSERT_EQ(began.size(), 1u);
  EXPECT_EQ(began[0].exited, std::vector<int>{60});
}

TEST(TargetWaits, OneOfTwoPostmastersOfATargetExitingIsNoWait) {
  TargetWaits w({"/a"});
  EXPECT_TRUE(w.update({{40, "/a"}, {41, "/a"}}).empty());
  EXPECT_TRUE(w.update({{41, "/a"}}).empty());
  EXPECT_FALSE(w.any());
  auto began = w.update({});
  ASSERT_EQ(began.size(), 1u);
  EXPECT_EQ(began[0].exited, std::vector<int>{41});
}

TEST(TargetWaits, WithoutTargetsAnyServerCounts) {
  TargetWaits w({});
  auto began = w.update({});
  ASSERT_EQ(began.size(), 1u);
  EXPECT_EQ(began[0].target, "");
  EXPECT_TRUE(w.update({{40, "/var/lib/postgresql/15/main"}}).empty());
  EXPECT_FALSE(w.any());
  EXPECT_TRUE(w.update({{41, "/srv/other"}}).empty());  // 40 gone, another server runs
  began = w.update({});
  ASSERT_EQ(began.size(), 1u);
  EXPECT_EQ(began[0].exited, std::vector<int>{41});
}

TEST(TargetWaits, PostmastersOfOtherDirectoriesAreNotTheTargets) {
  TargetWaits w({"/a"});
  auto began = w.update({{70, "/elsewhere"}});
  ASSERT_EQ(began.size(), 1u);
  EXPECT_EQ(began[0].target, "/a");
}
