// A lock queue, provoked for real: a COPY whose client stopped reading holds
// AccessShareLock while its backend blocks sending (Client:ClientWrite); an
// ALTER TABLE queues behind it, readers behind the ALTER
// (scripts/scenario/clientwrite.sh). Every waiter's line must lead to that
// root and say what it is doing, as pg_blocking_pids() sees the queue; the
// same queue, short and healthy, must flag nothing.
#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

class QueueTest : public ClusterTest {};

std::string joined(const Json& pids) {
  std::string out;
  for (const auto& p : pids) out += (out.empty() ? "" : ",") + std::to_string(p.get<int>());
  return out;
}

}  // namespace

TEST_F(QueueTest, EveryWaiterLeadsToTheRootStuckSendingToItsClient) {
  constexpr double kThreshold = 2.0;
  Watch w(target({"--lock-sleep", "2s"}));
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("clientwrite");
  ASSERT_TRUE(s.ok());
  const int root = s.pid("ROOT_PID"), alter = s.pid("ALTER_PID");
  const auto readers = s.pids("READER_PIDS");
  ASSERT_GT(root, 0);
  ASSERT_GT(alter, 0);
  ASSERT_EQ(readers.size(), 2u);
  const std::string root_words = "blocked by pid " + std::to_string(root) + " (AccessShareLock, blocked sending to its client";

  std::vector<int> waiters{alter};
  waiters.insert(waiters.end(), readers.begin(), readers.end());
  for (int p : waiters) {
    auto hit = w.wait_for(is_stall("lock-sleep", p), 10s);
    ASSERT_TRUE(hit) << "no lock-sleep for waiter " << p << "\n" << w.dump();
    // Within the threshold + 1 s of the queue being in place.
    EXPECT_LE(seconds_between(s.ready(), hit->at), kThreshold + 1.0) << p;
    const std::string summary = hit->json.value("summary", "");
    const auto& d = hit->json["detail"]["blocked_by"];
    EXPECT_EQ(d.value("source", ""), "shared_memory") << d.dump();
    ASSERT_FALSE(d["chain"].empty()) << d.dump();
    EXPECT_EQ(d["chain"].front(), p) << d.dump();
    EXPECT_EQ(d["chain"].back(), root) << d.dump();
    EXPECT_EQ(d["root"].value("pid", 0), root) << d.dump();
    EXPECT_EQ(d["root"].value("doing", ""), "blocked sending to its client") << d.dump();
    EXPECT_EQ(d["root"].value("wait_event", ""), "Client:ClientWrite") << d.dump();
    EXPECT_EQ(d["root"].value("holds", ""), "AccessShareLock") << d.dump();
    EXPECT_NE(summary.find(root_words), std::string::npos) << summary;
    EXPECT_EQ(summary.find("no conflicting holder"), std::string::npos) << summary;
    if (p == alter) {
      EXPECT_EQ(d["chain"], Json({alter, root})) << d.dump();
      EXPECT_TRUE(d["queued_behind"].empty()) << d.dump();
    } else {
      EXPECT_EQ(d["chain"], Json({p, alter, root})) << d.dump();
      ASSERT_EQ(d["queued_behind"].size(), 1u) << d.dump();
      EXPECT_EQ(d["queued_behind"][0].value("pid", 0), alter) << d.dump();
      EXPECT_EQ(d["queued_behind"][0].value("wants", ""), "AccessExclusiveLock") << d.dump();
      EXPECT_TRUE(d["holders"].empty()) << d.dump();
      EXPECT_NE(summary.find("chain " + std::to_string(p) + " -> " + std::to_string(alter) + " -> " +
                             std::to_string(root)),
                std::string::npos)
          << summary;
      EXPECT_NE(summary.find("queued behind pid " + std::to_string(alter) + " (wants AccessExclusiveLock)"),
                std::string::npos)
          << summary;
    }
    // The server's own answer, while the queue stands.
    const auto server = psql("SELECT array_to_string(pg_blocking_pids(" + std::to_string(p) + "), ',')");
    EXPECT_EQ(joined(d["blocking_pids"]), server) << "pid " << p << ": " << d.dump();
  }
  EXPECT_EQ(psql("SELECT wait_event FROM pg_stat_activity WHERE pid = " + std::to_string(root)), "ClientWrite");

  s.stop();  // terminates the root: the queue drains
  for (int p : waiters) {
    auto end = w.wait_for(
        [&](const Json& x) { return x.value("type", "") == "stall_end" && x.value("pid", 0) == p; }, 10s);
    EXPECT_TRUE(end) << "no stall_end for " << p << " after the root was terminated\n" << w.dump();
  }
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) EXPECT_NE(st["pid"], root) << "the root was flagged: " << st.dump();
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0]["lock_graph_errors"], 0) << summary[0].dump();
}

// The negative twin: the same queue, short (the COPY's client reads, and it
// ends as soon as the queue is seen formed) and drained by itself. Nothing is flagged, and reading queues
// while they change gave no lock-graph error.
TEST_F(QueueTest, AHealthyShortQueueThatDrainsFlagsNothing) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("clientwrite", "PGSTALL_CLIENTWRITE_HEALTHY=1");
  ASSERT_TRUE(s.ok());
  ASSERT_GT(s.pid("ALTER_PID"), 0);
  // It did queue (the script saw the ALTER and the readers waiting), and not
  // for as long as the threshold.
  ASSERT_FALSE(s.value("ALTER_WAITED_S").empty());
  EXPECT_LT(std::stod(s.value("ALTER_WAITED_S")), 5.0) << "the healthy queue lasted too long to mean anything";
  EXPECT_EQ(psql("SELECT count(*) FROM pg_attribute WHERE attrelid = 'pgstall_clientwrite'::regclass "
                 "AND attname = 'extra'"),
            "1")
      << "the ALTER did not complete";
  w.run_for(3s);
  s.stop();
  EXPECT_EQ(w.stop(), 0);
  EXPECT_TRUE(w.of_type("stall").empty()) << "a healthy queue was flagged:\n" << w.dump();
  for (const auto& n : w.of_type("notice"))
    EXPECT_EQ(n.value("message", "").find("lock holders"), std::string::npos) << n.dump();
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0]["lock_graph_errors"], 0) << summary[0].dump();
}
