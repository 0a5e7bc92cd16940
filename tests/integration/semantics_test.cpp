// Postgres' own words for a stall, without SQL: the lock (type, mode, tag),
// the LWLock tranche, the wait event, the holder, deadlocks. Every test runs
// twice: with PostgreSQL's USDT probes, and with --no-usdt (wait event, title
// and scheduler only); the kinds and pids must be the same.
#include <set>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

class SemanticsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "integration tests need root (BPF, fsfreeze, loop devices)";
    env_ = cluster_env(true);
    ASSERT_FALSE(env_["PGSTALL_PGDATA"].empty()) << "pgcluster.sh up printed no PGSTALL_PGDATA";
  }
  bool usdt() const { return GetParam(); }
  std::vector<std::string> target(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--data-dir", env_["PGSTALL_PGDATA"]});
    // With USDT, the LWLock probes from the start (the default attaches them
    // on demand; that is tested on its own below).
    extra.push_back(usdt() ? "--lwlock-probes=always" : "--no-usdt");
    return extra;
  }
  // The start line says what was attached: with USDT, the contention probes
  // resolved to sites in Debian's postgres and attached; without, none.
  void expect_usdt_state(const Watch& w) {
    auto start = w.of_type("start");
    ASSERT_EQ(start.size(), 1u);
    const auto& u = start[0]["usdt"];
    if (!usdt()) {
      EXPECT_TRUE(u.empty()) << start[0].dump();
      return;
    }
    std::set<std::string> attached;
    for (const auto& p : u) {
      if (p["attached"].get<bool>()) attached.insert(p["name"].get<std::string>());
      EXPECT_GT(p["sites"].get<int>(), 0) << p.dump();
    }
    for (const char* n : {"lock__wait__start", "lock__wait__done", "lwlock__wait__start", "lwlock__wait__done",
                          "deadlock__found", "checkpoint__start", "buffer__checkpoint__start", "buffer__checkpoint__sync__start",
                          "buffer__checkpoint__done", "checkpoint__done"})
      EXPECT_TRUE(attached.count(n)) << n << " not attached: " << start[0].dump();
  }
  // Whence the lock tag: the lock__wait__start probe, else the waiter's
  // PGPROC and LOCK in shared memory (the tag is the same either way).
  std::string lock_source() const { return usdt() ? "usdt" : "shared_memory"; }
  // The LWLock tranche: the probe, else the wait event.
  std::string lwlock_source() const { return usdt() ? "usdt" : "wait_event"; }
  // detail.blocked_by, read from shared memory in both modes: the holders'
  // pids, each checked to hold `holds`.
  static std::vector<int> blockers(const Json& d, const std::string& holds) {
    std::vector<int> out;
    EXPECT_EQ(d["blocked_by"].value("source", ""), "shared_memory") << d.dump();
    for (const auto& h : d["blocked_by"]["holders"]) {
      out.push_back(h["pid"].get<int>());
      EXPECT_EQ(h.value("holds", ""), holds) << d.dump();
    }
    return out;
  }
  std::map<std::string, std::string> env_;
};

std::string name_of(const ::testing::TestParamInfo<bool>& info) { return info.param ? "Usdt" : "NoUsdt"; }

}  // namespace

INSTANTIATE_TEST_SUITE_P(Modes, SemanticsTest, ::testing::Bool(), name_of);

TEST_P(SemanticsTest, RowLockIsATransactionIdShareLockEndedByItsHolder) {
  Watch w(target({"--lock-sleep", "2s"}));
  ASSERT_TRUE(w.started()) << w.dump();
  expect_usdt_state(w);
  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID"), holder = s.pid("HOLDER_PID");
  ASSERT_GT(waiter, 0);
  auto hit = w.wait_for(is_stall("lock-sleep", waiter), 8s);
  ASSERT_TRUE(hit) << "no lock-sleep for waiter " << waiter << "\n" << w.dump();
  const auto& d = hit->json["detail"];
  EXPECT_EQ(d.value("wait_event", ""), "Lock:transactionid") << d.dump();
  EXPECT_EQ(d["lock"].value("type", ""), "transactionid") << d.dump();
  EXPECT_EQ(d["lock"].value("source", ""), lock_source()) << d.dump();
  EXPECT_EQ(d["lock"].value("mode", ""), "ShareLock") << d.dump();
  // The xid it waits for is the holder's.
  auto xid = psql("SELECT backend_xid FROM pg_stat_activity WHERE pid = " + std::to_string(holder));
  EXPECT_EQ(std::to_string(d["lock"].value("xid", 0u)), xid) << d.dump();
  EXPECT_EQ(blockers(d, "ExclusiveLock"), std::vector<int>{holder});
  EXPECT_NE(hit->json.value("summary", "").find("blocked by pid " + std::to_string(holder)), std::string::npos)
      << hit->json.dump();
  ASSERT_FALSE(d["holder_candidates"].empty()) << d.dump();
  EXPECT_EQ(d["holder_candidates"][0]["pid"], holder) << d.dump();
  EXPECT_FALSE(d.contains("query")) << "query text without --queries: " << d.dump();
  // Its whole stack, user frames unwound by CFI from its saved registers
  // (no USDT needed): the lock sleep's path, and the libc caller a
  // frame-pointer walk would lose.
  EXPECT_EQ(d.value("stack_unwind", ""), "dwarf") << d.dump();
  const std::string stack = d.value("stack", Json::array()).dump();
  EXPECT_NE(stack.find("\"ProcSleep\""), std::string::npos) << stack;
  EXPECT_NE(stack.find("\"WaitEventSetWait\""), std::string::npos) << stack;
  s.stop();
  auto end = w.wait_for(
      [&](const Json& x) { return x.value("type", "") == "stall_end" && x.value("pid", 0) == waiter; }, 5s);
  ASSERT_TRUE(end) << w.dump();
  EXPECT_EQ(end->json["woken_by"], holder) << end->json.dump();
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) EXPECT_NE(st["pid"], holder) << st.dump();
}

// Two waiters queued on one row: the second waits for the first (tuple
// lock), the first for the holder (transactionid). Read from shared memory,
// the blockers are those pg_blocking_pids() names, and the chain runs to the
// holder.
TEST_P(SemanticsTest, RowLockQueueIsAChainAsPgBlockingPidsSaysIt) {
  Watch w(target({"--lock-sleep", "2s"}));
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("rowlock", "PGSTALL_ROWLOCK_QUEUE=1");
  ASSERT_TRUE(s.ok());
  const int holder = s.pid("HOLDER_PID"), w1 = s.pid("WAITER_PID"), w2 = s.pid("WAITER2_PID");
  ASSERT_GT(w2, 0);
  auto hit = w.wait_for(is_stall("lock-sleep", w2), 8s);
  ASSERT_TRUE(hit) << "no lock-sleep for the second waiter " << w2 << "\n" << w.dump();
  const auto& d = hit->json["detail"];
  EXPECT_EQ(d.value("wait_event", ""), "Lock:tuple") << d.dump();
  EXPECT_EQ(d["lock"].value("type", ""), "tuple") << d.dump();
  EXPECT_EQ(blockers(d, "ExclusiveLock"), std::vector<int>{w1});
  EXPECT_EQ(d["blocked_by"]["chain"], Json({w2, w1, holder})) << d.dump();
  for (int p : {w1, w2}) {
    const auto server = psql("SELECT array_to_string(pg_blocking_pids(" + std::to_string(p) + "), ',')");
    auto st = w.wait_for(is_stall("lock-sleep", p), 1s);
    ASSERT_TRUE(st) << w.dump();
    std::string ours;
    for (const auto& h : st->json["detail"]["blocked_by"]["holders"])
      ours += (ours.empty() ? "" : ",") + std::to_string(h["pid"].get<int>());
    EXPECT_EQ(ours, server) << "pid " << p << ": " << st->json.dump();
  }
  s.stop();
  EXPECT_EQ(w.stop(), 0);
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0]["lock_graph_errors"], 0) << summary[0].dump();
}

TEST_P(SemanticsTest, LockTableWaitersWaitForTheRelation) {
  Watch w(target({"--lock-sleep", "2s"}));
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("locktable");
  ASSERT_TRUE(s.ok());
  const int holder = s.pid("HOLDER_PID");
  auto waiters = s.pids("WAITER_PIDS");
  const std::string table_oid = std::to_string(s.pid("TABLE_OID"));
  ASSERT_GE(waiters.size(), 2u);
  for (int p : waiters) {
    auto hit = w.wait_for(is_stall("lock-sleep", p), 8s);
    ASSERT_TRUE(hit) << "waiter " << p << " not flagged\n" << w.dump();
    const auto& d = hit->json["detail"];
    EXPECT_EQ(d.value("wait_event", ""), "Lock:relation") << d.dump();
    EXPECT_EQ(d["lock"].value("type", ""), "relation") << d.dump();
    EXPECT_EQ(d["lock"].value("mode", ""), "AccessShareLock") << d.dump();
    EXPECT_EQ(std::to_string(d["lock"].value("relation", 0u)), table_oid) << d.dump();
    EXPECT_EQ(blockers(d, "AccessExclusiveLock"), std::vector<int>{holder});
    ASSERT_FALSE(d["holder_candidates"].empty()) << d.dump();
    EXPECT_EQ(d["holder_candidates"][0]["pid"], holder) << d.dump();
  }
  s.stop();
  w.run_for(2s);
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) EXPECT_NE(st["pid"], holder) << "the holder was flagged: " << st.dump();
}

TEST_P(SemanticsTest, AdvisoryLockWait) {
  Watch w(target({"--lock-sleep", "2s"}));
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("advisory");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID");
  ASSERT_GT(waiter, 0);
  auto hit = w.wait_for(is_stall("lock-sleep", waiter), 8s);
  ASSERT_TRUE(hit) << w.dump();
  const auto& d = hit->json["detail"];
  EXPECT_EQ(d.value("wait_event", ""), "Lock:advisory") << d.dump();
  EXPECT_EQ(d["lock"].value("type", ""), "advisory") << d.dump();
  EXPECT_EQ(d["lock"].value("mode", ""), "ExclusiveLock") << d.dump();
  EXPECT_NE(d["lock"].value("text", "").find("key " + std::to_string(s.pid("ADVISORY_KEY"))), std::string::npos)
      << d.dump();
  EXPECT_EQ(blockers(d, "ExclusiveLock"), std::vector<int>{s.pid("HOLDER_PID")});
  s.stop();
  EXPECT_EQ(w.stop(), 0);
}

TEST_P(SemanticsTest, DeadlockNamesBothParties) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("deadlock");
  ASSERT_TRUE(s.ok());
  const int a = s.pid("A_PID"), b = s.pid("B_PID"), victim = s.pid("VICTIM_PID");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  ASSERT_TRUE(victim == a || victim == b) << "victim " << victim;
  const int survivor = victim == a ? b : a;
  w.run_for(1s);
  s.stop();
  EXPECT_EQ(w.stop(), 0);
  auto dl = w.of_type("deadlock");
  if (!usdt()) {
    // Without deadlock__found there is no deadlock event: documented, and
    // never invented.
    EXPECT_TRUE(dl.empty()) << w.dump();
    return;
  }
  ASSERT_EQ(dl.size(), 1u) << w.dump();
  EXPECT_EQ(dl[0]["pid"], victim) << dl[0].dump();
  EXPECT_EQ(dl[0]["lock"].value("type", ""), "transactionid") << dl[0].dump();
  std::set<int> others;
  for (const auto& o : dl[0]["others"]) others.insert(o.get<int>());
  EXPECT_TRUE(others.count(survivor)) << "survivor " << survivor << " not named: " << dl[0].dump();
}

TEST_P(SemanticsTest, FrozenWalShowsWalWriteLwlockWaits) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("fsfreeze");
  ASSERT_TRUE(s.ok());
  auto lw = w.wait_for(
      [&](const Json& j) {
        return j.value("type", "") == "stall" && j.value("kind", "") == "lwlock-wait" &&
               j["detail"].contains("lwlock") && j["detail"]["lwlock"].value("tranche", "") == "WALWrite";
      },
      10s);
  ASSERT_TRUE(lw) << "no lwlock-wait on WALWrite under fsfreeze\n" << w.dump();
  EXPECT_EQ(lw->json["detail"]["lwlock"].value("source", ""), lwlock_source()) << lw->json.dump();
  EXPECT_EQ(lw->json["detail"].value("wait_event", ""), "LWLock:WALWrite") << lw->json.dump();
  if (usdt()) {
    // The user stack taken at lwlock__wait__start: LWLockAcquire (or
    // ...OrWait) called from the WAL flush that wants the lock.
    const auto& us = lw->json["detail"]["user_stack"];
    ASSERT_GE(us.size(), 3u) << lw->json.dump();
    EXPECT_EQ(us[0].get<std::string>().rfind("LWLockAcquire", 0), 0u) << us.dump();
    bool xlog = false;
    for (const auto& f : us) xlog = xlog || f.get<std::string>().rfind("XLog", 0) == 0;
    EXPECT_TRUE(xlog) << us.dump();
    EXPECT_NE(lw->json.value("summary", "").find(" in XLog"), std::string::npos) << lw->json.dump();
  } else {
    EXPECT_FALSE(lw->json["detail"].contains("user_stack")) << lw->json.dump();
  }
  s.stop();
  w.run_for(2s);
  EXPECT_EQ(w.stop(), 0);
}

// A CHECKPOINT command: its start with the flags the command sets, its end
// with the time each phase took, from the checkpointer. checkpoint__done is
// a plain uprobe (libbpf 1.1 cannot read its RIP-relative arguments).
TEST_P(SemanticsTest, CheckpointStartAndEnd) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  expect_usdt_state(w);
  const int checkpointer = std::stoi(psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"));
  psql("CHECKPOINT");
  if (!usdt()) {
    w.run_for(1s);
    EXPECT_EQ(w.stop(), 0);
    EXPECT_TRUE(w.of_type("checkpoint").empty()) << "checkpoint events without USDT:\n" << w.dump();
    return;
  }
  // A checkpoint already running when CHECKPOINT came ends first (its start
  // unseen); the command's own follows.
  auto start = w.wait_for(
      [](const Json& j) {
        return j.value("type", "") == "checkpoint" && j.value("event", "") == "start" &&
               j.value("flags", "").find("immediate force wait") != std::string::npos;
      },
      5s);
  ASSERT_TRUE(start) << w.dump();
  EXPECT_EQ(start->json["pid"], checkpointer) << start->json.dump();
  auto done = w.wait_for(
      [](const Json& j) {
        return j.value("type", "") == "checkpoint" && j.value("event", "") == "done" && j.contains("duration_s");
      },
      5s);
  ASSERT_TRUE(done) << w.dump();
  EXPECT_EQ(done->json["pid"], checkpointer) << done->json.dump();
  EXPECT_TRUE(done->json.contains("write_s")) << done->json.dump();
  EXPECT_TRUE(done->json.contains("sync_s")) << done->json.dump();
  EXPECT_LE(done->json["write_s"].get<double>() + done->json["sync_s"].get<double>(),
            done->json["duration_s"].get<double>() + 0.0015)
      << done->json.dump();
  EXPECT_EQ(w.stop(), 0);
}

// The postmortem's picture: a checkpoint that cannot finish because its
// filesystem does not take writes. Backends stuck writing their commit
// records hold the checkpoint at its start (delayChkptFlags), where the
// checkpointer polls in pg_usleep with no wait event: a delay-loop naming
// the checkpoint and its phase. After the thaw, the checkpoint ends.
TEST(CheckpointUnderFreeze, TheCheckpointersStallNamesTheCheckpoint) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "--delay-loop", "3s"});
  ASSERT_TRUE(w.started()) << w.dump();
  const int checkpointer = std::stoi(psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"));
  // Finish any checkpoint in progress (one pgstall did not see start) and
  // reset the timer, so the one stuck below is the command's.
  psql("CHECKPOINT");
  Scenario s("fsfreeze");
  ASSERT_TRUE(s.ok());
  // Blocks until the thaw: in the background, bounded.
  ASSERT_EQ(std::system(("timeout 60 " + script("pgcluster.sh") + " psql -c CHECKPOINT >/dev/null 2>&1 &").c_str()), 0);
  auto hit = w.wait_for(
      [&](const Json& j) {
        return j.value("type", "") == "stall" && j.value("pid", 0) == checkpointer;
      },
      15s);
  ASSERT_TRUE(hit) << "the checkpointer was not flagged\n" << w.dump();
  EXPECT_EQ(hit->json.value("kind", ""), "delay-loop") << hit->json.dump();
  EXPECT_NE(hit->json.value("summary", "").find("delayChkptFlags"), std::string::npos) << hit->json.dump();
  const auto& c = hit->json["detail"]["checkpoint"];
  EXPECT_EQ(c["pid"], checkpointer) << c.dump();
  EXPECT_EQ(c["phase"], "starting") << c.dump();
  EXPECT_NE(c.value("flags", "").find("immediate"), std::string::npos) << c.dump();
  s.stop();
  auto done = w.wait_for(
      [](const Json& j) {
        return j.value("type", "") == "checkpoint" && j.value("event", "") == "done" && j.contains("duration_s");
      },
      20s);
  EXPECT_TRUE(done) << "no checkpoint end after the thaw\n" << w.dump();
  EXPECT_EQ(w.stop(), 0);
}

TEST_P(SemanticsTest, HealthyServerStillFlagsNothing) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("healthy", "PGSTALL_HEALTHY_SECONDS=15");
  ASSERT_TRUE(s.ok());
  w.run_for(15s);
  EXPECT_EQ(w.stop(), 0);
  EXPECT_TRUE(w.of_type("stall").empty()) << "false stalls on a healthy server:\n" << w.dump();
  EXPECT_TRUE(w.of_type("deadlock").empty()) << w.dump();
  auto summary = w.of_type("summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0]["counters"]["ring_drops"], 0);
  // Every counter has its own name (three once shared "unknown").
  EXPECT_FALSE(summary[0]["counters"].contains("unknown")) << summary[0].dump();
  for (const char* c : {"lock_waits", "lwlock_waits", "deadlocks", "user_stacks_lost"})
    EXPECT_TRUE(summary[0]["counters"].contains(c)) << c << ": " << summary[0].dump();
  std::string notices;
  for (const auto& n : w.of_type("notice")) notices += n.dump() + "\n";
  EXPECT_EQ(summary[0]["wait_event_read_errors"], 0) << summary[0].dump() << "\n" << notices;
}

// --dsn: when the server answers, who blocks whom comes from
// pg_blocking_pids, with the relation and the chain. Three sessions: H holds
// the table, W1 waits for it, W2 waits behind W1.
TEST(SqlEnrichment, BlockedByAndChainFromTheServer) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  ASSERT_FALSE(env["PGSTALL_PGDATA"].empty());
  const std::string dsn = "host=" + env["PGSTALL_PGHOST"] + " port=" + env["PGSTALL_PGPORT"] +
                          " user=postgres dbname=pgstall";
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "--lock-sleep", "2s", "--dsn", dsn});
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("locktable", "PGSTALL_LOCKTABLE_WAITERS=2");
  ASSERT_TRUE(s.ok());
  const int holder = s.pid("HOLDER_PID");
  auto waiters = s.pids("WAITER_PIDS");
  ASSERT_EQ(waiters.size(), 2u);
  for (int p : waiters) {
    auto b = w.wait_for(
        [&](const Json& j) { return j.value("type", "") == "blocked_by" && j.value("pid", 0) == p; }, 10s);
    ASSERT_TRUE(b) << "no blocked_by for waiter " << p << "\n" << w.dump();
    const auto& j = b->json;
    EXPECT_EQ(j["source"], "sql");
    EXPECT_EQ(j.value("relation", ""), "pgstall_locktable") << j.dump();
    // Each waiter's chain ends at the holder, however the waiters queue.
    ASSERT_FALSE(j["chain"].empty());
    EXPECT_EQ(j["chain"].front(), p) << j.dump();
    EXPECT_EQ(j["chain"].back(), holder) << j.dump();
    std::set<int> by;
    for (const auto& x : j["blocked_by"]) by.insert(x.get<int>());
    EXPECT_TRUE(by.count(holder)) << j.dump();
  }
  s.stop();
  EXPECT_EQ(w.stop(), 0);
  for (const auto& n : w.of_type("notice")) ADD_FAILURE() << "unexpected notice: " << n.dump();
}

// A --dsn that cannot connect costs a notice, never the live view.
TEST(SqlEnrichment, UnreachableServerIsANoticeNotAFailure) {
  auto env = cluster_env(true);
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "--lock-sleep", "1s", "--dsn",
           "host=/nonexistent port=1 user=postgres dbname=pgstall"});
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  auto hit = w.wait_for(is_stall("lock-sleep", s.pid("WAITER_PID")), 6s);
  EXPECT_TRUE(hit) << w.dump();
  auto n = w.wait_for([](const Json& j) { return j.value("type", "") == "notice"; }, 5s);
  ASSERT_TRUE(n) << "no notice for the unreachable --dsn\n" << w.dump();
  EXPECT_NE(n->json.value("message", "").find("cannot connect"), std::string::npos) << n->json.dump();
  s.stop();
  EXPECT_EQ(w.stop(), 0);
}

// --queries: the statement probes are attached on request only, and a
// stall shows the statement that runs, as pg_stat_activity has it.
TEST(QueriesTest, StallShowsTheRunningStatementOnlyWhenAskedFor) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  Watch w({"--data-dir", env["PGSTALL_PGDATA"], "--lock-sleep", "2s", "--queries"});
  ASSERT_TRUE(w.started()) << w.dump();
  auto start = w.of_type("start");
  ASSERT_EQ(start.size(), 1u);
  EXPECT_EQ(start[0].value("queries", false), true) << start[0].dump();
  std::set<std::string> attached;
  for (const auto& p : start[0]["usdt"])
    if (p["attached"].get<bool>()) attached.insert(p["name"].get<std::string>());
  EXPECT_TRUE(attached.count("query__start") && attached.count("query__done")) << start[0].dump();
  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID");
  ASSERT_GT(waiter, 0);
  auto hit = w.wait_for(is_stall("lock-sleep", waiter), 8s);
  ASSERT_TRUE(hit) << w.dump();
  const auto& d = hit->json["detail"];
  ASSERT_TRUE(d.contains("query")) << d.dump();
  auto seen = psql("SELECT left(query, 255) FROM pg_stat_activity WHERE pid = " + std::to_string(waiter));
  EXPECT_EQ(d["query"].value("text", ""), seen) << d.dump();
  EXPECT_GE(d["query"].value("running_s", 0.0), 2.0) << d.dump();
  EXPECT_EQ(d["query"].value("truncated", true), false) << d.dump();
  s.stop();
  EXPECT_EQ(w.stop(), 0);
}

// Without USDT there is no statement probe to ask for: refused, not ignored.
TEST(QueriesTest, QueriesWithNoUsdtIsRefused) {
  auto r = run(pgstall_binary() + " watch --queries --no-usdt --duration 1s");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("excludes"), std::string::npos) << r.err;
}

// The default: LWLock probes off until a backend sits in an LWLock wait,
// then on (the waits after that come with mode and caller), and said so.
TEST(LwlockProbesTest, AttachedOnDemandWhenWalWriteStalls) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
  auto env = cluster_env(true);
  Watch w({"--data-dir", env["PGSTALL_PGDATA"]});
  ASSERT_TRUE(w.started()) << w.dump();
  auto start = w.of_type("start");
  ASSERT_EQ(start.size(), 1u);
  for (const auto& p : start[0]["usdt"]) {
    const auto name = p["name"].get<std::string>();
    if (name.rfind("lwlock__", 0) != 0) continue;
    EXPECT_FALSE(p["attached"].get<bool>()) << p.dump();
    EXPECT_TRUE(p["on_demand"].get<bool>()) << p.dump();
  }
  w.run_for(2s);
  for (const auto& n : w.of_type("notice"))
    EXPECT_EQ(n.value("message", "").find("LWLock probes attached"), std::string::npos) << "attached while healthy";
  Scenario s("fsfreeze");
  ASSERT_TRUE(s.ok());
  auto on = w.wait_for(
      [](const Json& j) {
        return j.value("type", "") == "notice" && j.value("message", "").rfind("LWLock probes attached", 0) == 0;
      },
      10s);
  ASSERT_TRUE(on) << w.dump();
  auto lw = w.wait_for(is_stall("lwlock-wait", 0), 10s);
  ASSERT_TRUE(lw) << w.dump();
  EXPECT_EQ(lw->json["detail"].value("wait_event", ""), "LWLock:WALWrite") << lw->json.dump();
  s.stop();
  w.run_for(1s);
  EXPECT_EQ(w.stop(), 0);
  auto sum = w.of_type("summary");
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_GT(sum[0].value("lwlock_probes_s", 0.0), 0.0) << sum[0].dump();
}
