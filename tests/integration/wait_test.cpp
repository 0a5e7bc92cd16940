// The `wait` kind against a real PostgreSQL: a COMMIT waiting for a
// synchronous standby that is not there is named, with its cause, within
// its threshold; a parallel query whose leader only gathers while its
// workers compute (the same IPC waits, healthy) is not.
#include <thread>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

class WaitTest : public ClusterTest {};

}  // namespace

TEST_F(WaitTest, CommitWaitingForAnAbsentSynchronousStandby) {
  Watch w({"--data-dir", env_["PGSTALL_PGDATA"]});
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
  Watch w({"--data-dir", env_["PGSTALL_PGDATA"]});
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("parallel");
  ASSERT_TRUE(s.ok());
  const int leader = s.pid("LEADER_PID");
  ASSERT_GT(leader, 0);
  ASSERT_FALSE(s.pids("WORKER_PIDS").empty()) << "the query ran without parallel workers";
  // It really waits in IPC while its workers compute, longer than the threshold.
  int ipc_looks = 0;
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(1s);
    ipc_looks += psql("SELECT wait_event_type FROM pg_stat_activity WHERE pid = " + std::to_string(leader)) == "IPC";
  }
  EXPECT_GE(ipc_looks, 6) << "the leader was not gathering most of the time";
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) ADD_FAILURE() << "flagged: " << st.dump();
}
