// Enrichment of lock-sleep verdicts: holder candidates idle in transaction,
// holders read from shared memory, chains and cycles.
#include <gtest/gtest.h>

#include "detect/fixtures.h"
#include "enrich/annotate.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

namespace {

// Detection then enrichment, as watch runs them: the annotator sees every
// snapshot batch, each new verdict is annotated.
struct Pipeline {
  detect::Engine engine;
  enrich::Annotator annotator;
};

template <typename F>
std::vector<Event> run(Pipeline& p, uint64_t t0, uint64_t t1, F make) {
  std::vector<Event> all;
  for (uint64_t t = t0; t <= t1; t += kSec / 10) {
    const auto snaps = make(t);
    p.annotator.observe(t, snaps);
    for (auto& e : p.engine.update(t, snaps)) {
      if (e.type == Event::Type::Start) p.annotator.annotate(e.stall, t, snaps);
      all.push_back(std::move(e));
    }
  }
  return all;
}

// Holders read from shared memory: named in the summary with the mode they
// hold, followed into a chain, and a cycle called one.
model::LockWaitRead shm_wait(uint32_t type_id, const char* type, uint32_t f0, int mode,
                             std::vector<model::LockHolder> blockers) {
  model::LockWaitRead r;
  r.waiting = true;
  r.tag.type_id = type_id;
  r.tag.type = type;
  r.tag.field = {f0, 0, 0, 0};
  r.tag.mode = mode;
  r.blockers = std::move(blockers);
  return r;
}

}  // namespace

TEST(LockSleep, FlaggedAtThresholdWithHolderCandidate) {
  Pipeline e;
  const int waiter = 4242, holder = 4100;
  uint64_t wait_start = kT0;
  auto ev = run(e, kT0, kT0 + 7 * kSec, [&](uint64_t t) {
    model::Snapshot w = sleeping_in(waiter, "epoll_wait", wait_start + kSec);  // re-slept after deadlock_timeout
    w.title = client("UPDATE", model::ClientState::Active, true);
    model::Snapshot h = sleeping_in(holder, "epoll_wait", kT0 - 340 * kSec);
    h.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    (void)t;
    return std::vector<model::Snapshot>{w, h};
  });
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, waiter);
  EXPECT_NEAR(s[0].duration_s, 5.0, 0.11);
  ASSERT_EQ(s[0].stall.detail["holder_candidates"].size(), 1u);
  EXPECT_EQ(s[0].stall.detail["holder_candidates"][0]["pid"], holder);
  // The holder has been idle since its poll began, long before we looked.
  EXPECT_GT(s[0].stall.detail["holder_candidates"][0]["idle_s"].get<double>(), 340.0);
  EXPECT_NE(s[0].stall.summary.find("pid 4100 (idle in transaction"), std::string::npos);
  // Only the waiter is flagged: idle in transaction is a holder, not a stall.
  for (const auto& x : ev) EXPECT_NE(x.stall.pid, holder);
}

TEST(LockSleep, HoldersFromSharedMemoryMakeAChain) {
  Pipeline e;
  const int holder = 4100, w1 = 4101, w2 = 4102;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot a = sleeping_in(w1, "epoll_wait", kT0);
    a.title = client("UPDATE", model::ClientState::Active, true);
    a.shm_lock = shm_wait(5, "transactionid", 735, 5, {{holder, 1u << 7}});
    model::Snapshot b = sleeping_in(w2, "epoll_wait", kT0);
    b.title = client("UPDATE", model::ClientState::Active, true);
    b.shm_lock = shm_wait(4, "tuple", 16384, 7, {{w1, 1u << 7}});
    model::Snapshot h = sleeping_in(holder, "epoll_wait", kT0 - 60 * kSec);
    h.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    return std::vector<model::Snapshot>{a, b, h};
  });
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 2u);
  for (const auto& x : s) {
    const auto& d = x.stall.detail;
    EXPECT_EQ(d["lock"]["source"], "shared_memory") << d.dump();
    EXPECT_EQ(d["blocked_by"]["source"], "shared_memory") << d.dump();
    if (x.stall.pid == w1) {
      EXPECT_EQ(d["lock"]["text"], "transactionid 735 ShareLock") << d.dump();
      EXPECT_EQ(d["blocked_by"]["holders"][0]["pid"], holder);
      EXPECT_EQ(d["blocked_by"]["holders"][0]["holds"], "ExclusiveLock");
      EXPECT_EQ(d["blocked_by"]["holders"][0]["state"], "idle in transaction");
      EXPECT_EQ(d["blocked_by"]["chain"], nlohmann::json({w1, holder}));
      EXPECT_NE(x.stall.summary.find("blocked by pid 4100 (ExclusiveLock, idle in transaction 6"), std::string::npos)
          << x.stall.summary;
      EXPECT_EQ(x.stall.summary.find("chain"), std::string::npos) << x.stall.summary;
    } else {
      EXPECT_EQ(x.stall.pid, w2);
      EXPECT_EQ(d["blocked_by"]["chain"], nlohmann::json({w2, w1, holder}));
      EXPECT_NE(x.stall.summary.find("itself waiting for transactionid 735"), std::string::npos) << x.stall.summary;
      EXPECT_NE(x.stall.summary.find("chain 4102 -> 4101 -> 4100"), std::string::npos) << x.stall.summary;
      EXPECT_EQ(x.stall.summary.find("cycle"), std::string::npos) << x.stall.summary;
    }
  }
}

TEST(LockSleep, ACycleOfHoldersIsCalledADeadlockNotYetBroken) {
  Pipeline e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot a = sleeping_in(1, "epoll_wait", kT0);
    a.title = client("UPDATE", model::ClientState::Active, true);
    a.shm_lock = shm_wait(5, "transactionid", 700, 5, {{2, 1u << 7}});
    model::Snapshot b = sleeping_in(2, "epoll_wait", kT0);
    b.title = client("UPDATE", model::ClientState::Active, true);
    b.shm_lock = shm_wait(5, "transactionid", 701, 5, {{1, 1u << 7}});
    return std::vector<model::Snapshot>{a, b};
  });
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].stall.detail["blocked_by"]["chain"], nlohmann::json({1, 2, 1}));
  EXPECT_NE(s[0].stall.summary.find("chain 1 -> 2 -> 1 (a cycle"), std::string::npos) << s[0].stall.summary;
}

// A buffer pin wait: the sessions of its database that may hold the pin,
// idle in transaction first (an open cursor keeps its pin).
TEST(Wait, BufferPinNamesCandidatePinHolders) {
  Pipeline e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot vac = sleeping_in(20, "epoll_wait", kT0);
    vac.title = client("VACUUM", model::ClientState::Active);
    vac.pg_major = 15;
    vac.wait_event_info = event_info("BufferPin", "BufferPin");
    model::Snapshot cursor = sleeping_in(21, "epoll_wait", kT0 - 30 * kSec);
    cursor.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    model::Snapshot reader = sleeping_in(22, "epoll_wait", kT0);
    reader.title = client("SELECT", model::ClientState::Active);
    reader.on_cpu = true;
    model::Snapshot other_db = sleeping_in(23, "epoll_wait", kT0 - 30 * kSec);
    other_db.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    other_db.title.database = "elsewhere";
    return std::vector<model::Snapshot>{vac, cursor, reader, other_db};
  });
  auto s = starts(ev, "wait");
  ASSERT_EQ(s.size(), 1u);
  const auto& c = s[0].stall.detail["pin_holder_candidates"];
  ASSERT_EQ(c.size(), 2u) << c.dump();
  EXPECT_EQ(c[0]["pid"], 21);
  EXPECT_EQ(c[1]["pid"], 22);
  EXPECT_EQ(c[1]["command"], "SELECT");
  EXPECT_NE(s[0].stall.summary.find("; pin holder candidates: pid 21 (idle in transaction 3"), std::string::npos)
      << s[0].stall.summary;
  EXPECT_NE(s[0].stall.summary.find("pid 22 (running SELECT)"), std::string::npos) << s[0].stall.summary;
}
