// wait on synthetic snapshots: any blocking wait event of a process in work
// is a stall past its threshold, with its cause in words; idle, naps,
// pg_sleep, vacuum's delay, a running parallel query and the kinds with a
// detector of their own are not.
#include <gtest/gtest.h>

#include "detect/fixtures.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

TEST(Wait, CommitWaitingForASynchronousStandby) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot s = waiting_on(7, "IPC", "SyncRep", kT0);
    s.title = client("COMMIT", model::ClientState::Active);
    return std::vector<model::Snapshot>{s};
  });
  auto s = starts(ev, "wait");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, 7);
  EXPECT_NEAR(s[0].duration_s, 5.0, 0.11);
  EXPECT_EQ(s[0].stall.detail["wait_event"], "IPC:SyncRep");
  EXPECT_EQ(s[0].stall.detail["wait_event_type"], "IPC");
  EXPECT_EQ(s[0].stall.summary,
            "COMMIT waits for synchronous replication (no synchronous standby confirms) (IPC:SyncRep, running COMMIT)");
  // Nothing else is made of it.
  EXPECT_EQ(ev.size(), 1u);
}

TEST(Wait, BufferPinOfAnAutovacuumWorkerAndAnExtensionWait) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot vac = waiting_on(8, "BufferPin", "BufferPin", kT0);
    vac.title = {};
    vac.title.type = model::BackendType::AutovacuumWorker;
    vac.title.detail = "shop";
    model::Snapshot ext = waiting_on(9, "Extension", "Extension", kT0);
    ext.title = client("SELECT", model::ClientState::Active);
    return std::vector<model::Snapshot>{vac, ext};
  });
  auto s = starts(ev, "wait");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_NE(s[0].stall.summary.find("cleanup lock on a buffer pinned by another session"), std::string::npos);
  EXPECT_NE(s[0].stall.summary.find("(BufferPin:BufferPin, autovacuum worker shop)"), std::string::npos)
      << s[0].stall.summary;
  EXPECT_NE(s[1].stall.summary.find("waits inside an extension"), std::string::npos);
}

TEST(Wait, NotBeforeItsThresholdAndAGlimpseDoesNotEndIt) {
  detect::Engine e;
  int tick = 0;
  auto ev = run(e, kT0, kT0 + 8 * kSec, [&](uint64_t t) {
    model::Snapshot s = waiting_on(7, "IPC", "SyncRep", kT0);
    s.title = client("COMMIT", model::ClientState::Active);
    if (++tick % 13 == 0) {  // caught between two latch sleeps, now and then
      s.wait_event_info = 0;
      s.on_cpu = true;
    }
    if (t < kT0 + 4 * kSec) EXPECT_TRUE(e.active().empty());
    return std::vector<model::Snapshot>{s};
  });
  EXPECT_EQ(starts(ev, "wait").size(), 1u);
  for (const auto& x : ev) EXPECT_EQ(x.type, Event::Type::Start) << "ended at a glimpse";
  // Done waiting for more than a glimpse: it ends.
  model::Snapshot done = sleeping_in(7, "epoll_wait", kT0 + 9 * kSec);
  done.title = client("idle", model::ClientState::Idle);
  done.pg_major = 15;
  done.wait_event_info = event_info("Client", "ClientRead");
  EXPECT_TRUE(e.update(kT0 + 8 * kSec + kSec / 2, {done}).empty());
  auto end = e.update(kT0 + 9 * kSec + kSec / 10, {done});
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].type, Event::Type::End);
}

TEST(Wait, NeverIdleNapsSleepsVacuumDelayOrOtherKindsWaits) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 10 * kSec, [&](uint64_t) {
    model::Snapshot idle = waiting_on(1, "Client", "ClientRead", kT0 - 100 * kSec);
    model::Snapshot sleep = waiting_on(2, "Timeout", "PgSleep", kT0);
    sleep.title = client("SELECT", model::ClientState::Active);
    model::Snapshot vac = waiting_on(3, "Timeout", "VacuumDelay", kT0);
    vac.title.type = model::BackendType::AutovacuumWorker;
    model::Snapshot ckpt = waiting_on(4, "Activity", "CheckpointerMain", kT0 - 100 * kSec);
    ckpt.title.type = model::BackendType::Checkpointer;
    // An auxiliary process' IPC wait is its own business, not a statement's.
    model::Snapshot aux = waiting_on(5, "IPC", "CheckpointDone", kT0);
    aux.title.type = model::BackendType::Startup;
    model::Snapshot walsender = waiting_on(6, "Client", "WalSenderWaitForWAL", kT0 - 100 * kSec);
    walsender.title.type = model::BackendType::WalSender;
    // Idle in transaction with an IPC wait event left over is not in work.
    model::Snapshot tx = waiting_on(7, "IPC", "SyncRep", kT0);
    tx.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    return std::vector<model::Snapshot>{idle, sleep, vac, ckpt, aux, walsender, tx};
  });
  for (const auto& x : ev) ADD_FAILURE() << "flagged: " << x.stall.pid << " " << x.stall.kind << " " << x.stall.summary;
}

TEST(Wait, HeavyweightLockLwlockAndIoWaitsAreTheirOwnKinds) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 7 * kSec, [&](uint64_t) {
    model::Snapshot lock = waiting_on(1, "Lock", "transactionid", kT0);
    lock.title = client("UPDATE", model::ClientState::Active, true);
    model::Snapshot lw = waiting_on(2, "LWLock", "WALWrite", kT0);
    lw.title = client("COMMIT", model::ClientState::Active);
    lw.sc_nr = model::syscall_number("futex");
    return std::vector<model::Snapshot>{lock, lw};
  });
  EXPECT_EQ(starts(ev, "lock-sleep").size(), 1u);
  EXPECT_EQ(starts(ev, "lwlock-wait").size(), 1u);
  EXPECT_TRUE(starts(ev, "wait").empty());
}

TEST(Wait, AParallelQueryIsWorkingWhileAMemberRuns) {
  detect::Engine e;
  bool worker_runs = true;
  auto make = [&](uint64_t t) {
    model::Snapshot leader = waiting_on(10, "IPC", "ExecuteGather", kT0);
    leader.title = client("SELECT", model::ClientState::Active);
    model::Snapshot worker = sleeping_in(11, "epoll_wait", kT0);
    worker.title.type = model::BackendType::ParallelWorker;
    worker.title.leader_pid = 10;
    worker.pg_major = 15;
    if (worker_runs) {
      worker.on_cpu = true;
      worker.cpu_ns = t - kT0;
    } else {
      worker.wait_event_info = event_info("IPC", "MessageQueueSend");
    }
    return std::vector<model::Snapshot>{leader, worker};
  };
  auto ev = run(e, kT0, kT0 + 8 * kSec, make);
  EXPECT_TRUE(ev.empty()) << ev.size() << " events, first: " << (ev.empty() ? "" : ev[0].stall.summary);
  // Nobody in the group runs any more: the leader and its worker wait on each other.
  worker_runs = false;
  ev = run(e, kT0 + 8 * kSec + kSec / 10, kT0 + 15 * kSec, make);
  auto s = starts(ev, "wait");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_NE(s[0].stall.summary.find("Gather"), std::string::npos) << s[0].stall.summary;
}

TEST(Wait, WithoutAWaitEventALatchWaitOfARunningStatementSaysSo) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot s = sleeping_in(7, "epoll_wait", kT0);
    s.title = client("COMMIT", model::ClientState::Active);  // wait_event_info unreadable: nullopt
    s.sc_args[3] = static_cast<uint64_t>(-1);                  // no timeout: waits for an event
    model::Snapshot idle = sleeping_in(8, "epoll_wait", kT0 - 100 * kSec);  // idle: waiting for its client
    idle.sc_args[3] = static_cast<uint64_t>(-1);
    model::Snapshot sleep = sleeping_in(9, "epoll_wait", kT0);  // pg_sleep naps with a timeout
    sleep.title = client("SELECT", model::ClientState::Active);
    sleep.sc_args[3] = 4000;
    return std::vector<model::Snapshot>{s, idle, sleep};
  });
  auto s = starts(ev, "wait");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, 7);
  EXPECT_TRUE(s[0].stall.detail["wait_event"].is_null());
  EXPECT_NE(s[0].stall.summary.find("its wait event cannot be read"), std::string::npos) << s[0].stall.summary;
}
