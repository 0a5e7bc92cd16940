// The `wait` kind against a real PostgreSQL: a COMMIT waiting for a
// synchronous standby that is not there is named, with its cause, within
// its threshold; a parallel query whose leader only gathers while its
// workers compute (the same IPC waits, healthy) is not.
#include <algorithm>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

class WaitTest : public ClusterTest {};

}  // namespace

TEST_F(WaitTest, CommitWaitingForAnAbsentSynchronousStandby) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("syncrep");
  ASSERT_TRUE(s.ok());
  const int committer = s.pid("COMMITTER_PID");
  ASSERT_GT(committer, 0);
  // The scenario saw it; check it is still so: a COMMIT in IPC:SyncRep.
  EXPECT_EQ(psql("SELECT wait_event_type || ':' || wait_event FROM pg_stat_activity WHERE pid = " +
                 std::to_string(committer)),
            "IPC:SyncRep");

  auto hit = w.wait_for(is_stall("wait", committer), 10s);
  ASSERT_TRUE(hit) << "no wait stall for committer " << committer << "\n" << w.dump();
  EXPECT_LE(seconds_between(s.ready(), hit->at), 6.0);  // the 5 s threshold + 1 s
  const auto& j = hit->json;
  EXPECT_EQ(j["detail"]["wait_event"], "IPC:SyncRep") << j.dump();
  EXPECT_EQ(j["detail"]["wait_event_type"], "IPC") << j.dump();
  EXPECT_EQ(j["detail"]["command"], "COMMIT") << j.dump();
  EXPECT_FALSE(j["detail"].value("waiting_for_lsn", "").empty()) << j.dump();
  EXPECT_NE(j["summary"].get<std::string>().find("COMMIT waits for synchronous replication"), std::string::npos)
      << j.dump();

  s.stop();  // synchronous_standby_names reset: the checkpointer releases the commit
  auto end = w.wait_for(
      [&](const Json& x) { return x.value("type", "") == "stall_end" && x.value("pid", 0) == committer; }, 10s);
  ASSERT_TRUE(end) << "no stall_end once the commit was released\n" << w.dump();
  EXPECT_EQ(w.stop(), 0);
  // One cause, one stall: nothing else was made of it.
  for (const auto& st : w.of_type("stall"))
    if (st["pid"] == committer) EXPECT_EQ(st["kind"], "wait") << st.dump();
}

TEST_F(WaitTest, AParallelLeaderGatheringFromBusyWorkersIsNotAStall) {
  // The workers compute for longer than cpu-bound's 10 s (they would be
  // flagged as the long statement they run): this is about the leader.
  Watch w(target({"--cpu-bound", "60s"}));
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("parallel");
  ASSERT_TRUE(s.ok());
  const int leader = s.pid("LEADER_PID");
  ASSERT_GT(leader, 0);
  ASSERT_FALSE(s.pids("WORKER_PIDS").empty()) << "the query ran without parallel workers";
  // It really waits in IPC while its workers compute, longer than the
  // threshold: without the parallel-group rule it would be a stall.
  const auto t0 = Clock::now();
  Clock::time_point streak_from{};
  double longest = 0;
  while (Clock::now() - t0 < 9s) {
    w.run_for(300ms);
    const bool ipc =
        psql("SELECT wait_event_type FROM pg_stat_activity WHERE pid = " + std::to_string(leader)) == "IPC";
    if (!ipc) streak_from = {};
    else if (streak_from == Clock::time_point{}) streak_from = Clock::now();
    else longest = std::max(longest, seconds_between(streak_from, Clock::now()));
  }
  EXPECT_GE(longest, 6.0) << "the leader did not gather in one IPC wait for longer than the threshold";
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) ADD_FAILURE() << "flagged: " << st.dump();
}

TEST_F(WaitTest, AnAutovacuumWorkerInItsCostDelayIsNotAStall) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("autovacuum");
  ASSERT_TRUE(s.ok());
  const int worker = s.pid("AUTOVACUUM_PID");
  ASSERT_GT(worker, 0);
  // It naps in its cost delay, again and again, for longer than any threshold.
  int delay_looks = 0;
  for (int i = 0; i < 8; ++i) {
    w.run_for(1s);
    delay_looks +=
        psql("SELECT wait_event FROM pg_stat_activity WHERE pid = " + std::to_string(worker)) == "VacuumDelay";
  }
  EXPECT_GE(delay_looks, 6) << "the worker was not in its cost delay most of the time";
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) ADD_FAILURE() << "flagged: " << st.dump();
}
